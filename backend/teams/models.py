"""Teams and who belongs to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, UTCDateTime, utcnow
from backend.teams.slugs import default_slug


class Team(Base):
    """A team in one challenge; its captain hands out the invitation code."""

    __tablename__ = "teams"
    __table_args__ = (
        UniqueConstraint("challenge_id", "name"),
        UniqueConstraint("challenge_id", "slug"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(
        ForeignKey("challenges.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    #: Its registry namespace ``<challenge>/<slug>/`` (:mod:`backend.teams.slugs`).
    slug: Mapped[str] = mapped_column(String(64), default=default_slug)
    captain_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    organiser_affiliated: Mapped[bool] = mapped_column(default=False)
    approved: Mapped[bool] = mapped_column(default=True)
    invite_code: Mapped[str] = mapped_column(String(64), unique=True)
    #: An organiser's reason for declining the team (shown to it); cleared on approval.
    review_note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="team", lazy="raise")


class Membership(Base):
    """A user in a team. ``(user, challenge)`` is unique: one team per challenge."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "challenge_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # Denormalised from the team so the database itself refuses a second team.
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    team: Mapped[Team] = relationship(back_populates="memberships", lazy="raise")
