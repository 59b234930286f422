"""What a worker process works with: database sessions, storage, runner, settings.

Built lazily on first use from :class:`~worker.config.WorkerSettings` (so
importing the worker connects to nothing); tests and the embedded mode install
their own with :func:`set_context`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

import backend.models  # noqa: F401 - every mapper, so relationships across packages resolve
from backend.db import make_engine, make_session_factory
from backend.jobs import CeleryJobQueue
from backend.notifications.hooks import bind_worker_factory
from backend.storage import Storage, make_storage
from worker.config import WorkerSettings, get_worker_settings
from worker.host import DEFAULT_PREFIX, HostFacts, container_prefix, detect
from worker.runner.base import ContainerRunner
from worker.runner.docker import DockerRunner


@dataclass(slots=True, kw_only=True)
class WorkerContext:
    """The collaborators of :mod:`worker.evaluation`."""

    session_factory: sessionmaker[Session]
    storage: Storage
    runner: ContainerRunner
    settings: WorkerSettings
    #: What this host has (GPUs usable or not); found on first use by :func:`host_facts`.
    host: HostFacts | None = None
    #: Where run images come from (:class:`worker.images.ImageSource`); ``None``: the Docker
    #: image store on ``runner``'s engine, made per evaluation.
    images: Any = None

    def __post_init__(self) -> None:
        # Run containers need a prefix; make_context resolves an unset one properly.
        if not self.settings.container_prefix:
            self.settings = self.settings.model_copy(update={"container_prefix": DEFAULT_PREFIX})


def make_context(settings: WorkerSettings) -> WorkerContext:
    """A context from settings: a database engine, the storage, the Docker runner.

    An unset container prefix is resolved here, once (the compose project's name).
    """
    runner = DockerRunner()
    prefix = container_prefix(settings, runner)
    if prefix != settings.container_prefix:
        settings = settings.model_copy(update={"container_prefix": prefix})
    return WorkerContext(
        session_factory=make_session_factory(make_engine(settings.database_url)),
        storage=make_storage(settings),
        runner=runner,
        settings=settings,
    )


def host_facts(context: WorkerContext) -> HostFacts:
    """The context's :class:`HostFacts`, asked of its engine once."""
    if context.host is None:
        context.host = detect(context.settings, context.runner)
    return context.host


_lock = threading.Lock()
# One slot per process; a dict avoids rebinding a module global.
_installed: dict[str, WorkerContext] = {}


def get_context() -> WorkerContext:
    """The process's context, made from the environment on first use."""
    with _lock:
        if "current" not in _installed:
            context = make_context(get_worker_settings())
            # A worker process's transactions send their jobs (notifications) via the broker.
            bind_worker_factory(
                context.session_factory,
                jobs=CeleryJobQueue(context.settings.broker_url),
                queue_name=context.settings.notification_queue,
            )
            _installed["current"] = context
        return _installed["current"]


def set_context(context: WorkerContext | None) -> None:
    """Install ``context`` for this process (``None``: back to the environment's)."""
    with _lock:
        if context is None:
            _installed.pop("current", None)
        else:
            _installed["current"] = context
