"""Readying the next run while this one goes on, so a GPU does not wait for a pull or staging.

A worker holds one submission at a time (Celery: prefetch multiplier 1,
concurrency 1, late acks), so the broker keeps the next message where any
worker of the host class can take it. The database says what that message is
most likely for: the oldest ``queued`` submission sent to this worker's queue
(:func:`backend.submissions.repository.next_queued`). Once a run has its
image, :meth:`Prefetcher.start` readies that next submission in a background
thread:

* its image, pulled or loaded into this worker's image cache
  (:meth:`worker.images.ImageStore.prefetch`: within the cache's disk budget,
  never evicting an image that is queued or running here);
* its phase's input files, copied into the worker's input cache
  (:mod:`worker.input_cache`), which the run then links into ``/input``.

When that submission starts here, it waits for a prefetch of its own still in
flight (:meth:`Prefetcher.wait_for`) and finds its image cached and its inputs
local. Nothing here touches a submission's row: a prefetch that fails (the
registry down, a full disk, the submission cancelled or taken by another
worker meanwhile) is logged and forgotten, and the run takes its usual path.
``PODIUM_PREFETCH=false`` turns it off.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import structlog

from backend.submissions import repository as submissions
from backend.submissions.images import ImageToRun, image_to_run
from worker.cases import CaseInput
from worker.context import WorkerContext
from worker.images import ImageStore, image_store
from worker.input_cache import CachedInputs, worker_input_cache
from worker.plan import Plan, phase_work

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Target:
    """The submission being readied, as read from the database."""

    submission_id: int
    image: ImageToRun
    size_bytes: int
    input_keys: frozenset[str]


def input_keys(cases: Iterable[CaseInput]) -> frozenset[str]:
    """Every input file key of ``cases``."""
    return frozenset(key for case in cases for key in case.input_keys)


class Prefetcher:
    """One background prefetch at a time for one worker context."""

    def __init__(self, context: WorkerContext) -> None:
        self.context = context
        self.inputs = worker_input_cache(context.settings)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._target: int | None = None
        self._done = threading.Event()
        self._done.set()

    # -- what a run calls -------------------------------------------------------
    def staging_storage(self) -> CachedInputs:
        """The storage a run stages its inputs from: prefetched copies first."""
        return CachedInputs(self.context.storage, self.inputs)

    def wait_for(self, submission_id: int) -> None:
        """Let a prefetch of ``submission_id`` still in flight finish first.

        Its image is then in the cache instead of being pulled twice at once.
        A prefetch of another submission goes on beside the run.
        """
        with self._lock:
            mine = self._target == submission_id
        if mine:
            started = time.monotonic()
            self._done.wait()
            log.info(
                "prefetch.waited", submission=submission_id, seconds=time.monotonic() - started
            )

    def start(self, *, running: Plan) -> bool:
        """Begin readying the submission most likely next, unless one is being readied."""
        if not self.context.settings.prefetch:
            return False
        keep = input_keys((*running.cases, *running.sample_cases))
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return False
            self._done.clear()
            self._thread = threading.Thread(
                target=self._run,
                kwargs={"after": running.submission_id, "keep": keep},
                name="podium-prefetch",
                daemon=True,  # never holds a stopping worker; a half-done pull is just redone
            )
            self._thread.start()
        return True

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the prefetch in flight (tests, benchmarks); whether none is left."""
        return self._done.wait(timeout)

    # -- the background thread ------------------------------------------------------
    def _run(self, *, after: int, keep: frozenset[str]) -> None:
        target: Target | None = None
        started = time.monotonic()
        try:
            target = self._next(after)
            if target is None:
                return
            with self._lock:
                self._target = target.submission_id
            pulled = self._image(target)
            fetched = self.inputs.fill(self.context.storage, sorted(target.input_keys))
            self.inputs.retain(keep | target.input_keys)
            log.info(
                "prefetch.ready",
                submission=target.submission_id,
                image=target.image.cache_key,
                image_brought=pulled,
                inputs_fetched=fetched,
                seconds=round(time.monotonic() - started, 3),
            )
        except Exception as exc:  # never the submission's business: its run fetches as usual
            log.warning(
                "prefetch.failed",
                submission=None if target is None else target.submission_id,
                error=str(exc),
            )
        finally:
            with self._lock:
                self._target = None
            self._done.set()

    def _next(self, after: int) -> Target | None:
        queue = self.context.settings.worker_queue
        with self.context.session_factory() as session:
            row = submissions.next_queued(session, queue=queue, after=after)
            if row is None:
                return None
            work = phase_work(session, row.phase_id)
            return Target(
                submission_id=row.id,
                image=image_to_run(row),
                size_bytes=int(row.size_bytes or 0),
                input_keys=input_keys((*work.cases, *work.sample_cases)),
            )

    def _image(self, target: Target) -> bool:
        store = image_store(self.context)
        if not isinstance(store, ImageStore):
            return False  # a test's scripted image source: nothing to bring in
        workdir = self.context.settings.scratch_dir / "prefetch"
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            return store.prefetch(target.image, size_hint=target.size_bytes, workdir=workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def prefetcher(context: WorkerContext) -> Prefetcher:
    """The context's prefetcher (one per context, made on first use)."""
    with _made:
        if not isinstance(context.prefetcher, Prefetcher):
            context.prefetcher = Prefetcher(context)
        return context.prefetcher


_made = threading.Lock()
