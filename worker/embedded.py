"""The embedded mode: the API runs evaluations in-process, without Celery or Redis.

Whoever composes the single-process service passes this queue to the API::

    from backend.main import create_app
    from worker.embedded import embedded_queue

    app = create_app(job_queue=embedded_queue())

Jobs are sent by the same task names as to Celery and run on one background
thread, one at a time (the single GPU or CPU of a laptop), with the same
guarded evaluation and retries.
"""

from __future__ import annotations

from functools import partial

from backend.jobs import EVALUATE_SUBMISSION, RESCORE_PHASE, LocalJobQueue
from backend.notifications.hooks import bind_worker_factory
from backend.notifications.tasks import JOBS
from worker.context import WorkerContext, get_context
from worker.rescoring import rescore_phase
from worker.tasks import run_embedded


def embedded_queue(*, context: WorkerContext | None = None) -> LocalJobQueue:
    """A :class:`~backend.jobs.LocalJobQueue` that evaluates and re-scores in-process.

    Parameters
    ----------
    context
        The worker context (default: the process's, from the environment). Its
        session factory is bound to the returned queue, so submissions that end
        in-process notify their teams.
    """
    context = context or get_context()
    settings = context.settings
    # Notifications have their own threads: an e-mail does not wait for an evaluation.
    queue = LocalJobQueue(max_workers=1, lanes={settings.notification_queue: 2})

    def evaluate_job(submission_id: int) -> str:
        return run_embedded(int(submission_id), context=context)

    def rescore_job(phase_id: int) -> int:
        return rescore_phase(int(phase_id), context=context)

    queue.register(EVALUATE_SUBMISSION, evaluate_job)
    queue.register(RESCORE_PHASE, rescore_job)
    for name, body in JOBS.items():
        queue.register(name, partial(body, context.session_factory, settings))
    # The worker's own transactions (a submission ending) send their jobs here too.
    bind_worker_factory(context.session_factory, jobs=queue, queue_name=settings.notification_queue)
    return queue
