"""The leaderboard's one table: a generation number per phase, for cache invalidation."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, UTCDateTime, utcnow


class LeaderboardGeneration(Base):
    """Bumped whenever anything a phase's board shows changes (scores, visibility).

    Every API process compares the number with the one its cached boards were
    built at, so a bump in the worker or in another API process invalidates
    them all.
    """

    __tablename__ = "leaderboard_generations"

    phase_id: Mapped[int] = mapped_column(
        ForeignKey("phases.id", ondelete="CASCADE"), primary_key=True
    )
    generation: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
