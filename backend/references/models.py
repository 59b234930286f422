"""A reference entry: an organiser's baseline, off-the-shelf model or human reader on a board."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class ReferenceEntry(Base):
    """A named, linked entry of a kind, scored through its own submission row.

    The submission (no team, no quota slot) is evaluated like any other: a
    container through the worker's run, uploaded predictions through the
    worker's scoring of stored predictions. Deleting the entry deletes it.
    """

    __tablename__ = "reference_entries"
    __table_args__ = (
        UniqueConstraint("phase_id", "name"),
        CheckConstraint("kind IN ('baseline', 'human', 'off-the-shelf')", name="kind_known"),
        CheckConstraint("source IN ('container', 'predictions')", name="source_known"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), unique=True
    )
    name: Mapped[str] = mapped_column(String(200))
    #: ``baseline`` | ``human`` | ``off-the-shelf``.
    kind: Mapped[str] = mapped_column(String(32))
    #: ``container`` (a docker save tarball) | ``predictions`` (uploaded masks).
    source: Mapped[str] = mapped_column(String(16))
    link: Mapped[str] = mapped_column(String(1000), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
