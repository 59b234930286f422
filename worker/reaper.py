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

from backend.challenges import repository as challenges
from backend.db import utcnow
from backend.enums import PhaseKind, SubmissionStatus
from backend.submissions import repository as submissions
from backend.submissions.lifecycle import IN_PROGRESS
from worker.context import WorkerContext, get_context
from worker.transitions import audit_recovery, heartbeat_stale

log = structlog.get_logger(__name__)


def _overran(started: datetime | None, *, limit_s: float, now: datetime) -> bool:
    return started is not None and started < now - timedelta(seconds=limit_s)


def reap_stuck(
    *,
    send: Callable[[int, str], None],
    context: WorkerContext | None = None,
    now: datetime | None = None,
) -> list[tuple[int, str]]:
    """Requeue or end stuck submissions; returns ``(submission id, action)`` pairs.

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
    settings = context.settings
    now = now or utcnow()
    actions: list[tuple[int, str]] = []
    with context.session_factory.begin() as session:
        candidates: list[tuple[int, float]] = []
        for challenge in challenges.list_challenges(session):
            for task in challenges.tasks_of(session, challenge.id):
                for phase in challenges.phases_of(session, task.id):
                    runs = 2 if phase.kind == PhaseKind.FINAL else 1
                    limit = runs * phase.time_limit_s + settings.stuck_margin_s
                    candidates += [
                        (s.id, limit)
                        for s in submissions.list_phase_submissions(
                            session, phase_id=phase.id, statuses=list(IN_PROGRESS)
                        )
                    ]
        for submission_id, limit in candidates:
            submission = submissions.get_submission_for_update(session, submission_id)
            if submission is None or submission.status not in IN_PROGRESS:
                continue
            silent = heartbeat_stale(submission, grace_s=settings.takeover_after_s, now=now)
            if not silent and not _overran(submission.started_at, limit_s=limit, now=now):
                continue
            why = "its worker stopped answering" if silent else "it overran its time limit"
            was = (submission.status, submission.attempt)
            if submission.attempt >= settings.max_attempts:
                submissions.set_status(
                    session,
                    submission,
                    status=SubmissionStatus.ERROR,
                    failure_class="worker_lost",
                    message=f"The evaluation was stopped because {why}, on our side; your "
                    "slot has been refunded. Please submit again.",
                )
                audit_recovery(
                    session, submission, action="submission.error", before=was, reason=why
                )
                actions.append((submission_id, "error"))
            else:
                submissions.set_status(
                    session,
                    submission,
                    status=SubmissionStatus.QUEUED,
                    message=f"Requeued because {why}.",
                )
                audit_recovery(
                    session, submission, action="submission.requeued", before=was, reason=why
                )
                actions.append((submission_id, "requeued"))
        before = now - timedelta(seconds=settings.task_time_limit_s)
        for submission_id in submissions.requeue_stale(session, before=before):
            # Its message was lost (e.g. a broker restarted without persistence).
            resent = submissions.get_submission(session, submission_id)
            if resent is not None:
                audit_recovery(
                    session,
                    resent,
                    action="submission.resent",
                    before=(resent.status, resent.attempt),
                    reason="still queued long after it was sent; sent again",
                )
            actions.append((submission_id, "resent"))
        stored = {i: submissions.get_submission(session, i) for i, _ in actions}
        queues = {
            i: (sub.queue if sub is not None else None) or settings.evaluation_queue
            for i, sub in stored.items()
        }
    for submission_id, action in actions:
        if action != "error":
            send(submission_id, queues[submission_id])
        log.warning("reaper.action", submission=submission_id, action=action)
    return actions
