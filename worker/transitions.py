"""The guards of a submission row: begin, heartbeat, finish (see :mod:`worker.evaluation`).

Each function is one short transaction that locks the row and acts only if
the state and the attempt number are the ones the caller expects; the moves
themselves are the lifecycle's (:mod:`backend.submissions.lifecycle`).
:func:`begin` answers with a tagged result: :class:`Started` with the plan, or
an :class:`Outcome` saying why nothing runs. The finishing guards
(:func:`transition`, :func:`persist`) answer whether this attempt still owned
the row; a superseded attempt's results are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from backend.audit import repository as audit
from backend.db import utcnow
from backend.enums import SubmissionStatus
from backend.submissions import repository as submissions
from backend.submissions.lifecycle import FINISHED, IN_PROGRESS, UNFINISHED
from backend.submissions.models import Submission
from scoring.results import CaseResult
from worker.config import WorkerSettings
from worker.context import WorkerContext
from worker.plan import Plan, read_plan
from worker.runner.base import DeploymentError, InfrastructureError, SubmissionFailure
from worker.scores import write_scores
from worker.timings import Timings

log = structlog.get_logger(__name__)

#: What :func:`begin` returns when a live worker holds the submission.
BUSY = "busy"


def audit_recovery(
    session: Session,
    submission: Submission,
    *,
    action: str,
    before: tuple[SubmissionStatus, int],
    reason: str,
) -> None:
    """Record a retry or recovery of ``submission`` in the audit log (actor: the system).

    ``before`` is the (status, attempt) the row had; the row itself holds the after.
    """
    audit.record(
        session,
        actor_id=None,
        action=action,
        target_type="submission",
        target_id=submission.id,
        before={"status": before[0].value, "attempt": before[1]},
        after={
            "status": submission.status.value,
            "attempt": submission.attempt,
            "reason": reason[-1000:],
        },
    )


def give_up_lost(session: Session, submission: Submission, *, message: str, reason: str) -> None:
    """End a run whose worker was lost on its last allowed attempt: ``error``, slot refunded.

    The caller holds the row lock; the ending is in the audit log with ``reason``.
    """
    before = (submission.status, submission.attempt)
    submissions.set_status(
        session,
        submission,
        status=SubmissionStatus.ERROR,
        failure_class="worker_lost",
        message=message,
    )
    audit_recovery(session, submission, action="submission.error", before=before, reason=reason)


def heartbeat_stale(updated_at: datetime, *, grace_s: float, now: datetime | None = None) -> bool:
    """Whether a run whose row was last touched at ``updated_at`` is silent for ``grace_s``."""
    now = now or utcnow()
    return updated_at < now - timedelta(seconds=grace_s)


def heartbeat(context: WorkerContext, plan: Plan) -> bool:
    """Refresh the row's ``updated_at`` if this attempt still owns it."""
    with context.session_factory.begin() as session:
        submission = submissions.get_submission_for_update(session, plan.submission_id)
        if submission is None or submission.attempt != plan.attempt:
            return False
        if submission.status not in IN_PROGRESS:
            return False
        submission.updated_at = utcnow()
        return True


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where a call left the submission: its status, and a delay when it should be retried.

    ``status`` is a :class:`~backend.enums.SubmissionStatus` value, or ``"missing"``,
    ``"busy"`` (a live worker holds it) or ``"superseded"`` (a newer attempt does).
    ``retry_in`` is set for an infrastructure fault that will be retried and for a
    busy submission (once its worker could have gone silent).
    """

    status: str
    retry_in: float | None = None
    timings: Timings | None = None


@dataclass(frozen=True, slots=True)
class Started:
    """:func:`begin` took the next attempt and entered its first state: run ``plan``."""

    plan: Plan


def begin(context: WorkerContext, submission_id: int) -> Started | Outcome:
    """Lock, check, count the attempt and enter the first running state.

    Returns
    -------
    Started | Outcome
        :class:`Started` with the plan when this call owns the next attempt;
        otherwise an :class:`Outcome` saying why nothing runs (missing, already
        finished, busy with a live worker, attempts used up, or a fault while
        reading the plan, recorded and perhaps to be retried).
    """
    settings = context.settings
    with context.session_factory.begin() as session:
        submission = submissions.get_submission_for_update(session, submission_id)
        if submission is None:
            return Outcome(status="missing")
        if submission.status not in UNFINISHED:
            return Outcome(status=submission.status.value)
        if submission.status in IN_PROGRESS and not heartbeat_stale(
            submission.updated_at, grace_s=settings.takeover_after_s
        ):
            # Another worker may still be running it (a duplicate delivery); only
            # a silent heartbeat says its worker is gone.
            return Outcome(status=BUSY, retry_in=settings.takeover_after_s)
        before = (submission.status, submission.attempt)
        # Only a run taken over counts against the attempts here: a queued row past them
        # was sent back by an organiser (a fault or the reaper requeue only below them).
        if before[0] in IN_PROGRESS and submission.attempt >= settings.max_attempts:
            give_up_lost(
                session,
                submission,
                message="The evaluation was interrupted repeatedly on our side; your "
                "submission slot has been refunded. Please submit again.",
                reason="its worker was lost on the last allowed attempt",
            )
            return Outcome(status=submission.status.value)
        submissions.increment_attempt(session, submission)
        if before[0] in IN_PROGRESS:
            # Only a silent heartbeat gets here: the previous attempt's worker is gone.
            audit_recovery(
                session,
                submission,
                action="submission.recovered",
                before=before,
                reason="the worker of the previous attempt went silent; taken over",
            )
        try:
            plan = read_plan(session, submission, settings)
        except InfrastructureError as exc:  # e.g. a paradigm without an active label set
            return record_fault(session, submission, settings=settings, exc=exc)
        first = SubmissionStatus.PREFLIGHT if plan.preflight else SubmissionStatus.RUNNING
        submissions.set_status(session, submission, status=first)
        return Started(plan)


def transition(
    context: WorkerContext,
    plan: Plan,
    *,
    expect: SubmissionStatus,
    to: SubmissionStatus,
    failure: SubmissionFailure | None = None,
    message: str | None = None,
    log_tail: str | None = None,
) -> bool:
    """Move the row ``expect`` -> ``to`` if it is still this attempt's; else ``False``."""
    with context.session_factory.begin() as session:
        submission = submissions.get_submission_for_update(session, plan.submission_id)
        if submission is None or submission.attempt != plan.attempt or submission.status != expect:
            log.info("evaluation.superseded", submission=plan.submission_id, attempt=plan.attempt)
            return False
        submissions.set_status(
            session,
            submission,
            status=to,
            failure_class=failure.kind if failure else None,
            message=failure.message if failure else message,
            log_tail=failure.log if failure and failure.log else log_tail,
        )
        return True


def persist(
    context: WorkerContext,
    plan: Plan,
    *,
    results: dict[tuple[str, str], CaseResult],
    message: str,
    log_tail: str,
    also: Callable[[Session, int], None] | None = None,
) -> bool:
    """Scores and ``succeeded`` in one transaction, if this attempt still owns the row.

    ``also(session, evaluation_id)`` writes more results of the same evaluation
    in that transaction (an interactive phase's click curves).
    """
    with context.session_factory.begin() as session:
        submission = submissions.get_submission_for_update(session, plan.submission_id)
        if (
            submission is None
            or submission.attempt != plan.attempt
            or submission.status != SubmissionStatus.SCORING
        ):
            return False
        evaluation_id = write_scores(
            session,
            plan.submission_id,
            labels=plan.labels,
            mode=plan.mode,
            cases=plan.cases,
            results=results,
        )
        if also is not None:
            also(session, evaluation_id)
        submissions.set_status(
            session,
            submission,
            status=SubmissionStatus.SUCCEEDED,
            message=message,
            log_tail=log_tail,
            failure_class="",
        )
        return True


def record_fault(
    session: Session, submission: Submission, *, settings: WorkerSettings, exc: Exception
) -> Outcome:
    """Requeue for a retry with backoff, or ``error`` (refunded) after the last attempt."""
    attempt = submission.attempt
    before = (submission.status, attempt)
    last = attempt >= settings.max_attempts
    message = (
        "The evaluation failed on our side and was not charged to you (your slot is "
        "refunded); the organisers have been told."
        if last
        else f"Retrying after a fault on our side (attempt {attempt})."
    )
    if last and isinstance(exc, DeploymentError):
        message += f" Cause: {exc}."
    submissions.set_status(
        session,
        submission,
        status=SubmissionStatus.ERROR if last else SubmissionStatus.QUEUED,
        message=message,
        failure_class="infrastructure",
        log_tail=str(exc)[-4000:],
    )
    audit_recovery(
        session,
        submission,
        action="submission.error" if last else "submission.retry",
        before=before,
        reason=f"infrastructure fault: {exc}",
    )
    log.warning(
        "evaluation.infrastructure_fault",
        submission=submission.id,
        attempt=attempt,
        error=str(exc),
        final=last,
    )
    if last:
        return Outcome(status=SubmissionStatus.ERROR.value)
    return Outcome(
        status=SubmissionStatus.QUEUED.value,
        retry_in=settings.retry_backoff_s * 2 ** (attempt - 1),
    )


def infrastructure_fault(context: WorkerContext, plan: Plan, exc: Exception) -> Outcome:
    """:func:`record_fault` for a run in progress, if this attempt still owns the row."""
    with context.session_factory.begin() as session:
        submission = submissions.get_submission_for_update(session, plan.submission_id)
        if submission is None or submission.attempt != plan.attempt:
            return Outcome(status="superseded")
        if submission.status in FINISHED:
            return Outcome(status=submission.status.value)
        return record_fault(session, submission, settings=context.settings, exc=exc)
