"""All SQL about webhooks (and the challenge a notification names)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.challenges.models import Challenge
from backend.notifications.models import ChallengeWebhook


def webhook_of(session: Session, challenge_id: int) -> ChallengeWebhook | None:
    """The challenge's webhook, or ``None``."""
    stmt = select(ChallengeWebhook).where(ChallengeWebhook.challenge_id == challenge_id)
    return session.scalars(stmt).one_or_none()


def get_challenge(session: Session, challenge_id: int) -> Challenge | None:
    """The challenge, or ``None``."""
    return session.get(Challenge, challenge_id)
