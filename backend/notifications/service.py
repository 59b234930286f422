"""Setting and removing a challenge's webhook (organisers; audited). Flushes only."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from backend.audit import repository as audit
from backend.auth.models import User
from backend.challenges import repository as challenges
from backend.challenges.models import Challenge
from backend.errors import DomainError, NotFoundError
from backend.notifications import repository
from backend.notifications.models import ChallengeWebhook


def challenge_by_slug(session: Session, slug: str) -> Challenge:
    """The challenge, or 404."""
    challenge = challenges.get_challenge_by_slug(session, slug)
    if challenge is None:
        raise NotFoundError("challenge", slug)
    return challenge


def set_webhook(session: Session, *, actor: User, slug: str, url: str) -> ChallengeWebhook:
    """Point the challenge's webhook at ``url`` (a new secret when it is first set)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise DomainError(
            "the webhook URL must start with https:// (or http://) and name a host", 422
        )
    challenge = challenge_by_slug(session, slug)
    hook = repository.webhook_of(session, challenge.id)
    before = None if hook is None else {"url": hook.url}
    if hook is None:
        hook = ChallengeWebhook(challenge_id=challenge.id, url=url, salt=secrets.token_hex(16))
        session.add(hook)
    hook.url = url
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        action="challenge.webhook",
        target_type="challenge",
        target_id=challenge.id,
        before=before,
        after={"url": url},
    )
    return hook


def remove_webhook(session: Session, *, actor: User, slug: str) -> None:
    """Stop calling the challenge's webhook."""
    challenge = challenge_by_slug(session, slug)
    hook = repository.webhook_of(session, challenge.id)
    if hook is None:
        return
    audit.record(
        session,
        actor_id=actor.id,
        action="challenge.webhook",
        target_type="challenge",
        target_id=challenge.id,
        before={"url": hook.url},
        after=None,
    )
    session.delete(hook)
    session.flush()
