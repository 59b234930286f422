"""The reaper: submissions whose worker went silent or that overran their limit.

Runs periodically (Celery beat, or ``podium`` CLI in the embedded mode). A run
in progress is taken back when its heartbeat has been silent for
``takeover_after_s`` (its worker died without the broker noticing, e.g. the
whole host went down) or when it has been going longer than its phase's time
limit (twice that with pre-flight) plus ``stuck_margin_s`` (a hung engine call).
Taken back means requeued as the next attempt, or ``error`` with the slot
refunded once the attempts are used up. Fencing by attempt number (see
:mod:`worker.evaluation`) makes a late answer from the old run harmless.
Submissions still ``queued`` long after they were sent are sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import structlog

from backend.db import utcnow
from backend.enums import PhaseKind, SubmissionStatus
from backend.submissions import repository as submissions
from backend.submissions.lifecycle import IN_PROGRESS
from backend.submissions.repository import RunInProgress
from worker.config import WorkerSettings
from worker.context import WorkerContext, get_context
from worker.transitions import audit_recovery, give_up_lost, heartbeat_stale

log = structlog.get_logger(__name__)


def _overran(started: datetime | None, *, limit_s: float, now: datetime) -> bool:
    return started is not None and started < now - timedelta(seconds=limit_s)


def _limit_s(run: RunInProgress, settings: WorkerSettings) -> float:
    """How long a run may take: the phase's limit (twice with pre-flight) plus the margin."""
    runs = 2 if run.phase_kind == PhaseKind.FINAL else 1
    return runs * run.time_limit_s + settings.stuck_margin_s


def _stuck(
    *,
    updated_at: datetime,
    started_at: datetime | None,
    limit_s: float,
    settings: WorkerSettings,
    now: datetime,
) -> str | None:
    """Why a run counts as stuck (its worker silent, or overrunning), or ``None``."""
    if heartbeat_stale(updated_at, grace_s=settings.takeover_after_s, now=now):
        return "its worker stopped answering"
    if _overran(started_at, limit_s=limit_s, now=now):
        return "it overran its time limit"
    return None


def _reap_one(
    context: WorkerContext, run: RunInProgress, *, now: datetime
) -> tuple[str, str] | None:
    """Requeue or end one stuck run in its own short transaction.

    Returns ``(action, queue)``, or ``None`` when the row is no longer stuck, or
    is locked right now by its worker (``SKIP LOCKED``: a worker mid-transition is
    alive; the next round looks again).
    """
    settings = context.settings
    with context.session_factory.begin() as session:
        submission = submissions.get_submission_for_update(
            session, run.submission_id, skip_locked=True
        )
        if submission is None or submission.status not in IN_PROGRESS:
            return None
        why = _stuck(
            updated_at=submission.updated_at,
            started_at=submission.started_at,
            limit_s=_limit_s(run, settings),
            settings=settings,
            now=now,
        )
        if why is None:
            return None
        was = (submission.status, submission.attempt)
        queue = submission.queue or settings.evaluation_queue
        if submission.attempt >= settings.max_attempts:
            give_up_lost(
                session,
                submission,
                message=f"The evaluation was stopped because {why}, on our side; your "
                "slot has been refunded. Please submit again.",
                reason=why,
            )
            return "error", queue
        submissions.set_status(
            session, submission, status=SubmissionStatus.QUEUED, message=f"Requeued because {why}."
        )
        audit_recovery(session, submission, action="submission.requeued", before=was, reason=why)
        return "requeued", queue


def _resend_stale(context: WorkerContext, *, now: datetime) -> list[tuple[int, str]]:
    """Submissions still queued long after they were sent (their message was lost)."""
    settings = context.settings
    resent: list[tuple[int, str]] = []
    with context.session_factory.begin() as session:
        before = now - timedelta(seconds=settings.task_time_limit_s)
        for submission_id in submissions.requeue_stale(session, before=before):
            submission = submissions.get_submission(session, submission_id)
            if submission is None:
                continue
            audit_recovery(
                session,
                submission,
                action="submission.resent",
                before=(submission.status, submission.attempt),
                reason="still queued long after it was sent; sent again",
            )
            resent.append((submission_id, submission.queue or settings.evaluation_queue))
    return resent


def reap_stuck(
    *,
    send: Callable[[int, str], None],
    context: WorkerContext | None = None,
    now: datetime | None = None,
) -> list[tuple[int, str]]:
    """Requeue or end stuck submissions; returns ``(submission id, action)`` pairs.

    One query lists the runs in progress with their phases' limits; each stuck
    one is then handled in a short transaction of its own (a row its worker has
    locked is skipped, not waited for) and, once committed, sent again.

    Parameters
    ----------
    send
        Sends ``evaluate_submission(id)`` to the queue given (after the commit): the
        one the submission was last sent to, or ``PODIUM_EVALUATION_QUEUE`` when it
        was accepted before queues were recorded.
    context
        The worker context (default: the process's).
    now
        The current time (tests pass a later one).
    """
    context = context or get_context()
    now = now or utcnow()
    with context.session_factory() as session:
        runs = submissions.runs_in_progress(session)
    actions: list[tuple[int, str]] = []
    for run in runs:
        healthy = (
            _stuck(
                updated_at=run.updated_at,
                started_at=run.started_at,
                limit_s=_limit_s(run, context.settings),
                settings=context.settings,
                now=now,
            )
            is None
        )
        if healthy:
            continue  # no transaction, no lock
        reaped = _reap_one(context, run, now=now)
        if reaped is None:
            continue
        action, queue = reaped
        actions.append((run.submission_id, action))
        log.warning("reaper.action", submission=run.submission_id, action=action)
        if action != "error":
            send(run.submission_id, queue)
    for submission_id, queue in _resend_stale(context, now=now):
        actions.append((submission_id, "resent"))
        log.warning("reaper.action", submission=submission_id, action="resent")
        send(submission_id, queue)
    return actions
