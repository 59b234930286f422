"""The tasks workers run, registered by the names the backend sends.

``evaluate_submission`` retries itself after an infrastructure fault with the
delay :func:`worker.evaluation.evaluate` asks for (and after finding a live
worker on the submission, once that worker could have gone silent).
"""

from __future__ import annotations

import time
from typing import Any

import structlog

from backend.jobs import EVALUATE_SUBMISSION, REAP_STUCK, RESCORE_PHASE
from backend.ops.instruments import observe_evaluation
from worker.celery_app import app
from worker.context import WorkerContext, get_context
from worker.evaluation import evaluate
from worker.reaper import reap_stuck
from worker.rescoring import rescore_phase
from worker.transitions import Outcome

log = structlog.get_logger(__name__)


def _observed(outcome: Outcome) -> Outcome:
    """Record the attempt's container and scoring time in the process's histograms."""
    if outcome.timings is not None:
        observe_evaluation(container_s=outcome.timings.run, scoring_s=outcome.timings.score)
    return outcome


def _evaluate_submission(self: Any, submission_id: int) -> str:
    """Evaluate one submission (guarded: safe to deliver twice)."""
    with structlog.contextvars.bound_contextvars(submission_id=int(submission_id)):
        return _evaluate_submission_logged(self, int(submission_id))


def _evaluate_submission_logged(self: Any, submission_id: int) -> str:
    try:
        outcome = _observed(evaluate(submission_id))
    except Exception as exc:
        # Not even the row could be read or updated (the database is down): the
        # submission is untouched, so try the whole task again later.
        log.exception("evaluation.cannot_start", submission=submission_id)
        settings = get_context().settings
        raise self.retry(
            exc=exc, countdown=max(settings.retry_backoff_s, 5.0), max_retries=10
        ) from exc
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in, max_retries=None)
    return outcome.status


def _rescore_phase(phase_id: int) -> int:
    """Re-score a phase's succeeded submissions against the active label sets."""
    return rescore_phase(int(phase_id))


def _reap_stuck() -> int:
    """Requeue or end submissions whose worker went silent or that overran."""

    # Each goes back to the queue it was sent to (a worker of the same host class).
    def send(submission_id: int, queue: str) -> None:
        app.send_task(EVALUATE_SUBMISSION, args=[submission_id], queue=queue)

    return len(reap_stuck(send=send))


# Registered by name (what the backend sends); celery's decorator is untyped.
evaluate_submission = app.task(
    name=EVALUATE_SUBMISSION, bind=True, acks_late=True, reject_on_worker_lost=True
)(_evaluate_submission)
rescore_phase_task = app.task(name=RESCORE_PHASE, acks_late=True, reject_on_worker_lost=True)(
    _rescore_phase
)
reap_stuck_task = app.task(name=REAP_STUCK, acks_late=True)(_reap_stuck)


def run_embedded(submission_id: int, *, context: WorkerContext | None = None) -> str:
    """The embedded mode's handler: evaluate in-process, sleeping between retries."""
    # Every log line of the evaluation carries the id, whichever module writes it.
    with structlog.contextvars.bound_contextvars(submission_id=submission_id):
        while True:
            outcome = _observed(evaluate(submission_id, context=context))
            if outcome.retry_in is None:
                return outcome.status
            log.info("evaluation.retry_later", submission=submission_id, delay=outcome.retry_in)
            time.sleep(outcome.retry_in)
