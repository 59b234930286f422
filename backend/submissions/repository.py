"""All SQL about submissions, quota slots, evaluations and case scores.

The worker uses these functions too; none of them commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.challenges.models import Phase
from backend.db import utcnow
from backend.enums import PhaseKind, ScoringMode, SubmissionStatus
from backend.submissions.lifecycle import FINISHED, IN_PROGRESS, LIFECYCLE, REFUNDING, check_move
from backend.submissions.models import (
    CaseScore,
    Evaluation,
    QuotaLedgerEntry,
    Submission,
    board_summary,
)


def get_submission(session: Session, submission_id: int) -> Submission | None:
    """The submission, or ``None``."""
    return session.get(Submission, submission_id)


def get_submission_for_update(
    session: Session, submission_id: int, *, skip_locked: bool = False
) -> Submission | None:
    """The submission with its row locked until the transaction ends.

    On PostgreSQL this is ``SELECT ... FOR UPDATE``; SQLite transactions here
    start with ``BEGIN IMMEDIATE`` and are already exclusive writers.
    ``skip_locked`` returns ``None`` at once, instead of waiting, when another
    transaction holds the row (``SKIP LOCKED``): for sweeps that may leave a row
    to the next round.
    """
    stmt = (
        select(Submission)
        .where(Submission.id == submission_id)
        .with_for_update(skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )
    return session.scalars(stmt).one_or_none()


@dataclass(frozen=True, slots=True)
class RunInProgress:
    """A submission in progress with what the reaper judges it by."""

    submission_id: int
    updated_at: datetime
    started_at: datetime | None
    phase_kind: PhaseKind
    time_limit_s: int


def runs_in_progress(session: Session) -> list[RunInProgress]:
    """Every submission in progress, with its phase's kind and time limit (one query)."""
    stmt = (
        select(
            Submission.id,
            Submission.updated_at,
            Submission.started_at,
            Phase.kind,
            Phase.time_limit_s,
        )
        .join(Phase, Phase.id == Submission.phase_id)
        .where(Submission.status.in_(IN_PROGRESS))
        .order_by(Submission.id)
    )
    return [RunInProgress(*row) for row in session.execute(stmt)]


def list_team_submissions(session: Session, *, team_id: int, phase_id: int) -> list[Submission]:
    """A team's submissions to a phase, newest first."""
    stmt = (
        select(Submission)
        .where(Submission.team_id == team_id, Submission.phase_id == phase_id)
        .order_by(Submission.id.desc())
    )
    return list(session.scalars(stmt))


def list_phase_submissions(
    session: Session, *, phase_id: int, statuses: Sequence[SubmissionStatus] | None = None
) -> list[Submission]:
    """Every submission to a phase, oldest first, optionally filtered by status."""
    stmt = select(Submission).where(Submission.phase_id == phase_id)
    if statuses is not None:
        stmt = stmt.where(Submission.status.in_(list(statuses)))
    return list(session.scalars(stmt.order_by(Submission.id)))


def slots_in_use(session: Session, *, team_id: int, phase_id: int) -> int:
    """How many slots the team holds in the phase (informative; not the guard)."""
    stmt = select(func.count()).where(
        Submission.team_id == team_id,
        Submission.phase_id == phase_id,
        Submission.slot.is_not(None),
    )
    return int(session.scalar(stmt) or 0)


def pending_image_keys(session: Session, *, queue: str) -> set[str]:
    """Cache keys of the images of unfinished submissions sent to ``queue``.

    A pushed image's key is its manifest digest, a tarball's its config digest
    (:attr:`backend.submissions.images.ImageToRun.cache_key`).
    """
    stmt = select(Submission.manifest_digest, Submission.image_digest).where(
        Submission.status.not_in(FINISHED),
        or_(Submission.queue == queue, Submission.queue.is_(None)),
    )
    return {manifest or config for manifest, config in session.execute(stmt).all()}


def next_queued(session: Session, *, queue: str, after: int) -> Submission | None:
    """The submission a worker of ``queue`` will most likely run after submission ``after``.

    The oldest ``queued`` one sent to ``queue`` other than ``after`` (the broker
    delivers in the order the API sent, after commit): what a worker readies
    while it runs ``after`` (:mod:`worker.prefetch`).
    """
    stmt = (
        select(Submission)
        .where(
            Submission.status == SubmissionStatus.QUEUED,
            Submission.id != after,
            or_(Submission.queue == queue, Submission.queue.is_(None)),
        )
        .order_by(Submission.queued_at.asc().nulls_last(), Submission.id.asc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def insert_with_free_slot(session: Session, submission: Submission, *, limit: int) -> bool:
    """Insert ``submission`` holding the lowest free slot in ``1..limit``.

    Each attempt is an INSERT in its own savepoint; the unique ``(team, phase,
    slot)`` constraint refuses a slot another transaction holds (on PostgreSQL
    the second insert waits for the first to commit or roll back), so exactly
    one of several racing uploads gets each slot. Never count-then-insert.

    Returns
    -------
    bool
        ``True`` when a slot was taken (``submission.slot`` is set and a ledger
        entry written), ``False`` when all ``limit`` slots are held.
    """
    taken = set(
        session.scalars(
            select(Submission.slot).where(
                Submission.team_id == submission.team_id,
                Submission.phase_id == submission.phase_id,
                Submission.slot.is_not(None),
            )
        )
    )
    for slot in range(1, limit + 1):
        if slot in taken:
            continue
        submission.slot = slot
        savepoint = session.begin_nested()
        try:
            session.add(submission)
            session.flush()
        except IntegrityError:
            savepoint.rollback()
            continue
        savepoint.commit()
        session.add(
            QuotaLedgerEntry(
                team_id=submission.team_id,
                phase_id=submission.phase_id,
                submission_id=submission.id,
                slot=slot,
                change=-1,
                reason="submission accepted",
            )
        )
        session.flush()
        return True
    submission.slot = None
    return False


def refund_slot(session: Session, submission: Submission, *, reason: str) -> bool:
    """Give the submission's slot back to its team (idempotent).

    Returns
    -------
    bool
        Whether a slot was released (``False`` if it held none any more).
    """
    if submission.slot is None:
        return False
    session.add(
        QuotaLedgerEntry(
            team_id=submission.team_id,
            phase_id=submission.phase_id,
            submission_id=submission.id,
            slot=submission.slot,
            change=1,
            reason=reason,
        )
    )
    submission.slot = None
    session.flush()
    return True


def set_status(
    session: Session,
    submission: Submission,
    *,
    status: SubmissionStatus,
    message: str | None = None,
    failure_class: str | None = None,
    log_tail: str | None = None,
    now: datetime | None = None,
) -> None:
    """Move a submission to ``status``, stamping times and refunding where due.

    Entering a state whose container runs (``preflight``, ``running``) stamps
    ``started_at`` (first time only); a finished state stamps ``finished_at``
    and ``runtime_s``; a refunding state (``failed_preflight``, ``error``,
    ``cancelled``) releases the slot (:mod:`backend.submissions.lifecycle`).
    The caller holds the row lock (:func:`get_submission_for_update`).

    Raises
    ------
    TransitionError
        The lifecycle does not allow the move (a bug in the caller, which
        checks the state first); nothing is changed.
    """
    check_move(submission.status, status)
    now = now or utcnow()
    submission.status = status
    if message is not None:
        submission.message = message
    if failure_class is not None:
        submission.failure_class = failure_class
    if log_tail is not None:
        submission.log_tail = log_tail
    if status == SubmissionStatus.QUEUED and submission.queued_at is None:
        submission.queued_at = now
    if LIFECYCLE[status].container and submission.started_at is None:
        submission.started_at = now
    if status in FINISHED:
        submission.finished_at = now
        if submission.started_at is not None:
            submission.runtime_s = (now - submission.started_at).total_seconds()
    if status in REFUNDING:
        refund_slot(session, submission, reason=f"refunded: {status.value}")
    session.flush()


def increment_attempt(session: Session, submission: Submission) -> int:
    """Count one more run of the submission; returns the new attempt number."""
    submission.attempt += 1
    session.flush()
    return submission.attempt


def quota_ledger(session: Session, *, team_id: int, phase_id: int) -> list[QuotaLedgerEntry]:
    """The team's quota movements in the phase, oldest first."""
    stmt = (
        select(QuotaLedgerEntry)
        .where(QuotaLedgerEntry.team_id == team_id, QuotaLedgerEntry.phase_id == phase_id)
        .order_by(QuotaLedgerEntry.id)
    )
    return list(session.scalars(stmt))


def create_evaluation(
    session: Session,
    *,
    submission_id: int,
    label_sets: dict[str, Any],
    scorer_version: str,
    mode: ScoringMode = ScoringMode.PAPER,
) -> Evaluation:
    """A new evaluation row for a submission."""
    evaluation = Evaluation(
        submission_id=submission_id,
        label_sets=label_sets,
        scorer_version=scorer_version,
        mode=mode,
    )
    session.add(evaluation)
    session.flush()
    return evaluation


def latest_evaluation(session: Session, submission_id: int) -> Evaluation | None:
    """The submission's most recent evaluation."""
    stmt = (
        select(Evaluation)
        .where(Evaluation.submission_id == submission_id)
        .order_by(Evaluation.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def upsert_case_score(
    session: Session,
    *,
    evaluation_id: int,
    case_id: int,
    paradigm: str,
    result: dict[str, Any],
) -> None:
    """Insert or replace the score of one case and paradigm (a re-run overwrites).

    ``result`` is ``scoring.results.CaseResult.to_dict()``; its ``status`` and
    ``dice`` are copied into indexed columns.
    """
    values = {
        "evaluation_id": evaluation_id,
        "case_id": case_id,
        "paradigm": paradigm,
        "status": str(result.get("status", "ok")),
        "dice": float(result.get("dice", 0.0)),
        "result": result,
        "summary": board_summary(result),
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(CaseScore).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["evaluation_id", "case_id", "paradigm"],
        set_={
            "status": values["status"],
            "dice": values["dice"],
            "result": result,
            "summary": values["summary"],
        },
    )
    session.execute(stmt)


def case_scores(session: Session, evaluation_id: int) -> list[CaseScore]:
    """Every case score of an evaluation."""
    stmt = select(CaseScore).where(CaseScore.evaluation_id == evaluation_id)
    return list(session.scalars(stmt.order_by(CaseScore.case_id, CaseScore.paradigm)))


def requeue_stale(session: Session, *, before: datetime) -> list[int]:
    """Ids of queued submissions last touched before ``before`` (to re-send)."""
    stmt = select(Submission.id).where(
        Submission.status == SubmissionStatus.QUEUED, Submission.updated_at < before
    )
    ids = list(session.scalars(stmt))
    if ids:
        session.execute(
            update(Submission).where(Submission.id.in_(ids)).values(updated_at=utcnow())
        )
    return ids
