"""The queries behind ``/metrics`` and ``/readyz`` (read-only, cheap aggregates)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from backend.challenges.models import Challenge, Phase, Task
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


def open_phase_routes(session: Session, *, now: datetime) -> list[tuple[str, str | None, bool]]:
    """``(challenge/task/phase, queue, gpu)`` of every phase whose window includes ``now``."""
    rows = session.execute(
        select(Challenge.slug, Task.slug, Phase.slug, Phase.queue, Phase.gpu)
        .join(Task, Task.id == Phase.task_id)
        .join(Challenge, Challenge.id == Task.challenge_id)
        .where(Phase.opens_at <= now, Phase.closes_at > now)
        .order_by(Challenge.slug, Task.slug, Phase.slug)
    ).all()
    return [(f"{c}/{t}/{p}", queue, bool(gpu)) for c, t, p, queue, gpu in rows]
