"""Evaluate as the broker would deliver: again while an attempt ended in a retried fault.

Under load the nested Docker 26 engine sometimes answers a container start with "cannot
start a stopped process"; the worker treats that as ours (an infrastructure fault: the
submission goes back to ``queued`` for another attempt, never charged to the team), and
Celery would deliver the task again. Tests whose subject is something else (layer reuse,
pinning, prefetch) evaluate through such hiccups instead of failing on them; the fault
path itself has its own tests.
"""

from __future__ import annotations

from sqlalchemy import func, select

from backend.audit.models import AuditEvent
from worker.context import WorkerContext
from worker.evaluation import evaluate
from worker.transitions import Outcome


def redelivered(submission_id: int, context: WorkerContext, *, deliveries: int = 3) -> Outcome:
    """``evaluate`` up to ``deliveries`` times while the outcome is ``queued`` (a retry)."""
    outcome = evaluate(submission_id, context=context)
    for _ in range(deliveries - 1):
        if outcome.status != "queued":
            break
        outcome = evaluate(submission_id, context=context)
    return outcome


def retries(context: WorkerContext, submission_id: int) -> int:
    """How many attempts of a submission ended in a fault retried as ours (audited each)."""
    with context.session_factory() as session:
        found = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "submission.retry",
                AuditEvent.target_id == str(submission_id),
            )
        )
    return int(found or 0)
