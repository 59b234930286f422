"""The queries behind ``/metrics`` and ``/readyz`` (read-only, cheap aggregates)."""

from __future__ import annotations

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.enums import SubmissionStatus
from backend.submissions.models import Submission


def ping(session: Session) -> None:
    """Round-trip to the database; raises when it does not answer."""
    session.execute(text("SELECT 1"))


def submissions_by_status(session: Session) -> dict[SubmissionStatus, int]:
    """How many submissions are in each state (every state present, zeros included)."""
    counts = dict.fromkeys(SubmissionStatus, 0)
    stmt = select(Submission.status, func.count()).group_by(Submission.status)
    for status, count in session.execute(stmt):
        counts[SubmissionStatus(status)] = int(count)
    return counts


def finished_runtimes(session: Session) -> list[float]:
    """``runtime_s`` of every submission that has one (start of the run to its end)."""
    stmt = select(Submission.runtime_s).where(Submission.runtime_s.is_not(None))
    return [float(v) for v in session.scalars(stmt) if v is not None]
