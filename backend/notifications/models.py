"""A challenge's optional webhook."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class ChallengeWebhook(Base):
    """Where a challenge's events are POSTed, signed with HMAC-SHA256.

    The signing secret is never stored: it is derived from ``PODIUM_SECRET_KEY``
    and ``salt`` (:func:`backend.notifications.webhooks.webhook_secret`), so a
    copy of the database alone cannot forge deliveries. A new salt rotates it.
    """

    __tablename__ = "challenge_webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), unique=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    salt: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The outcome of the latest delivery, for the organisers' console.
    last_status: Mapped[str | None] = mapped_column(String(400))
    last_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
