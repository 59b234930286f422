"""What a worker process works with: database sessions, storage, runner, settings.

Built lazily on first use from :class:`~worker.config.WorkerSettings` (so
importing the worker connects to nothing); tests and the embedded mode install
their own with :func:`set_context`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

import backend.models  # noqa: F401 - every mapper, so relationships across packages resolve
from backend.db import make_engine, make_session_factory
from backend.storage import Storage, make_storage
from worker.config import WorkerSettings, get_worker_settings
from worker.runner.base import ContainerRunner
from worker.runner.docker import DockerRunner


@dataclass(slots=True, kw_only=True)
class WorkerContext:
    """The collaborators of :mod:`worker.evaluation`."""

    session_factory: sessionmaker[Session]
    storage: Storage
    runner: ContainerRunner
    settings: WorkerSettings


def make_context(settings: WorkerSettings) -> WorkerContext:
    """A context from settings: a database engine, the storage, the Docker runner."""
    return WorkerContext(
        session_factory=make_session_factory(make_engine(settings.database_url)),
        storage=make_storage(settings),
        runner=DockerRunner(),
        settings=settings,
    )


_lock = threading.Lock()
# One slot per process; a dict avoids rebinding a module global.
_installed: dict[str, WorkerContext] = {}


def get_context() -> WorkerContext:
    """The process's context, made from the environment on first use."""
    with _lock:
        if "current" not in _installed:
            _installed["current"] = make_context(get_worker_settings())
        return _installed["current"]


def set_context(context: WorkerContext | None) -> None:
    """Install ``context`` for this process (``None``: back to the environment's)."""
    with _lock:
        if context is None:
            _installed.pop("current", None)
        else:
            _installed["current"] = context
