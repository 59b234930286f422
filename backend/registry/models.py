"""What the registry told Podium: one row per notification event (pushes, deletes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class RegistryEvent(Base):
    """A manifest pushed to, mounted into or deleted from the registry.

    ``event_id`` is the registry's own id: a notification the registry sends
    again (it retries until answered) is recorded once.
    """

    __tablename__ = "registry_events"
    __table_args__ = (Index("ix_registry_events_repository_at", "repository", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(100), unique=True)
    action: Mapped[str] = mapped_column(String(20))
    repository: Mapped[str] = mapped_column(String(255))
    tag: Mapped[str | None] = mapped_column(String(128))
    digest: Mapped[str] = mapped_column(String(80))
    media_type: Mapped[str] = mapped_column(String(200), default="")
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    #: The token subject that acted (a user's e-mail, ``podium`` or a worker).
    actor: Mapped[str] = mapped_column(String(320), default="")
    #: The team whose namespace the repository is in, when there is one.
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    #: When the registry says it happened.
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
