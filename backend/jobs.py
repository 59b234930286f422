"""Enqueue-after-commit: jobs are sent by task name once the transaction commits.

The backend never imports worker code. A request calls :func:`enqueue` with the
task's name; the job waits in the session until the outermost transaction
commits, and is dropped if it rolls back (polar ``worker/_enqueue.py``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

import structlog
from celery import Celery
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

log = structlog.get_logger(__name__)

# The registered task names: the one place they are spelt (the worker registers its
# tasks under these, the API and the reaper send by them).
#: Evaluates one submission (guarded: safe to deliver twice).
EVALUATE_SUBMISSION = "evaluate_submission"
#: Re-scores a phase's succeeded submissions from their stored predictions.
RESCORE_PHASE = "rescore_phase"
#: The reaper, run periodically by Celery beat.
REAP_STUCK = "reap_stuck_submissions"

_PENDING_KEY = "podium_pending_jobs"
_QUEUE_KEY = "podium_job_queue"


@dataclass(frozen=True, slots=True)
class Job:
    """A task to run: its registered name, positional arguments and queue."""

    task_name: str
    args: tuple[Any, ...]
    queue: str


class JobQueue(Protocol):
    """Where committed jobs go."""

    def send(self, job: Job) -> None:
        """Hand ``job`` to the workers; must not block on the job itself."""


class CeleryJobQueue:
    """Sends jobs to Celery workers through the broker, by task name only."""

    def __init__(self, broker_url: str) -> None:
        self._broker_url = broker_url
        self._app: Any = None
        self._lock = threading.Lock()

    def _celery(self) -> Any:
        # Created on first use so that starting the API needs no broker.
        with self._lock:
            if self._app is None:
                self._app = Celery("podium-api", broker=self._broker_url)
            return self._app

    def send(self, job: Job) -> None:
        """``send_task(name, args=..., queue=...)``."""
        self._celery().send_task(job.task_name, args=list(job.args), queue=job.queue)


@dataclass
class RecordingJobQueue:
    """Keeps the jobs it is sent (tests, and a dry-run embedded mode)."""

    sent: list[Job] = field(default_factory=list)

    def send(self, job: Job) -> None:
        """Record ``job``."""
        self.sent.append(job)


class LocalJobQueue:
    """Runs jobs in-process on a small thread pool (the embedded mode).

    Handlers are registered by task name by whoever composes the embedded
    service (the worker package), so the backend still knows names only. A job
    whose name has no handler is recorded in :attr:`unhandled` and logged.
    ``lanes`` gives some queues their own threads (queue name -> thread count),
    so that, say, an e-mail does not wait behind an hour-long evaluation.
    """

    def __init__(self, *, max_workers: int = 1, lanes: dict[str, int] | None = None) -> None:
        self._handlers: dict[str, Callable[..., Any]] = {}
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="podium-job")
        self._lanes = {
            name: ThreadPoolExecutor(max_workers=count, thread_name_prefix=f"podium-{name}")
            for name, count in (lanes or {}).items()
        }
        self.unhandled: list[Job] = []

    def register(self, task_name: str, handler: Callable[..., Any]) -> None:
        """Run ``handler(*args)`` for jobs named ``task_name``."""
        self._handlers[task_name] = handler

    def send(self, job: Job) -> None:
        """Submit ``job`` to the pool, or record it when nothing handles it."""
        handler = self._handlers.get(job.task_name)
        if handler is None:
            self.unhandled.append(job)
            log.warning("job.unhandled", task=job.task_name, args=list(job.args))
            return
        self._lanes.get(job.queue, self._pool).submit(handler, *job.args)

    def shutdown(self, *, cancel_pending: bool = False) -> None:
        """Wait for running jobs and stop the pools; ``cancel_pending`` drops jobs not started."""
        for pool in (self._pool, *self._lanes.values()):
            pool.shutdown(wait=True, cancel_futures=cancel_pending)


def bind_queue(session: Session, queue: JobQueue) -> None:
    """Make ``session`` send its committed jobs to ``queue``."""
    session.info[_QUEUE_KEY] = queue


def bind_factory(factory: sessionmaker[Session], queue: JobQueue) -> None:
    """Make every session of ``factory`` send its committed jobs to ``queue`` (workers)."""
    info = dict(factory.kw.get("info") or {})
    info[_QUEUE_KEY] = queue
    factory.configure(info=info)


def has_queue(session: Session) -> bool:
    """Whether ``session`` can send jobs (a queue is bound)."""
    return _QUEUE_KEY in session.info


def enqueue(session: Session, *, task_name: str, args: Sequence[Any], queue: str) -> None:
    """Send a job once ``session``'s transaction commits; forget it on rollback.

    Parameters
    ----------
    session
        The session whose commit releases the job; it must have a queue bound
        with :func:`bind_queue`.
    task_name
        The Celery task's registered name, e.g. :data:`EVALUATE_SUBMISSION`.
    args
        JSON-serialisable positional arguments.
    queue
        The broker queue (a GPU host class).
    """
    if _QUEUE_KEY not in session.info:
        raise RuntimeError("enqueue() on a session without a job queue: call bind_queue() first")
    session.info.setdefault(_PENDING_KEY, []).append(
        Job(task_name=task_name, args=tuple(args), queue=queue)
    )


def pending_jobs(session: Session) -> list[Job]:
    """Jobs waiting for the session's commit."""
    return list(session.info.get(_PENDING_KEY, []))


@event.listens_for(Session, "after_commit")
def _send_after_commit(session: Session) -> None:
    jobs: list[Job] = session.info.pop(_PENDING_KEY, [])
    queue: JobQueue | None = session.info.get(_QUEUE_KEY)
    for job in jobs:
        if queue is None:
            log.error("job.no_queue", task=job.task_name, args=list(job.args))
            continue
        try:
            queue.send(job)
        except Exception:
            # The row is committed; a broker hiccup must not turn into a 500 that
            # makes the team upload again. The submission stays queued and can be
            # re-sent (submissions.repository.requeue_stale lists such rows).
            log.exception("job.send_failed", task=job.task_name, args=list(job.args))
        else:
            log.info("job.sent", task=job.task_name, args=list(job.args), queue=job.queue)


@event.listens_for(Session, "after_transaction_end")
def _drop_when_outermost_ends(session: Session, transaction: SessionTransaction) -> None:
    # Fires for savepoints too; only the end of the outermost transaction decides
    # (after a commit the list is already empty, so this is the rollback path).
    if transaction.parent is not None:
        return
    dropped = session.info.pop(_PENDING_KEY, [])
    if dropped:
        log.info("job.dropped", count=len(dropped), tasks=[job.task_name for job in dropped])
