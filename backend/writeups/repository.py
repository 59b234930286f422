"""All SQL of write-ups. None of these functions commits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.writeups.models import Writeup


def phase_writeups(session: Session, *, phase_id: int) -> dict[int, Writeup]:
    """Every team's write-up in the phase, by team id."""
    stmt = select(Writeup).where(Writeup.phase_id == phase_id)
    return {w.team_id: w for w in session.scalars(stmt)}


def get_writeup(session: Session, *, team_id: int, phase_id: int) -> Writeup | None:
    """A team's write-up in a phase."""
    stmt = select(Writeup).where(Writeup.team_id == team_id, Writeup.phase_id == phase_id)
    return session.scalars(stmt).one_or_none()
