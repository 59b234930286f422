"""What a Celery worker (or beat) process does as it starts: logging, then saying what it has.

Celery's own logging set-up is replaced (``setup_logging`` has a receiver), so
every line, Celery's included, is one structlog JSON object on stderr, like the
API's; ``--quiet`` on the command line drops the banner. What Celery still
prints past the logging system, from its signal handlers ("worker: Warm shutdown
(MainProcess)"), goes through :func:`_say_as_json`. A worker then logs its host
facts once: queue, GPUs, whether the engine can serve them, and the container
prefix.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

import celery.apps.worker
import structlog
from celery.signals import setup_logging, worker_ready
from celery.utils.log import get_multiprocessing_logger

from backend.logs import configure_logging
from worker.config import get_worker_settings
from worker.host import container_prefix, detect
from worker.runner.docker import DockerRunner

log = structlog.get_logger(__name__)


def _configure_logging(**_: Any) -> None:
    settings = get_worker_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    # billiard's pool logger does not propagate, and Celery configures it only in the
    # set-up this receiver replaces: without a handler its errors ("Process
    # 'ForkPoolWorker-1' exited with 'signal 9 (SIGKILL)'") reach stderr as bare text.
    pool_logger = get_multiprocessing_logger()
    if pool_logger is not None:
        pool_logger.handlers = list(logging.getLogger().handlers)
        pool_logger.setLevel(logging.ERROR)


def _announce(**_: Any) -> None:
    # A runner of its own: the pool's processes make theirs after the fork.
    settings = get_worker_settings()
    runner = DockerRunner()
    facts = detect(settings, runner)
    log.info(
        "worker.ready",
        worker=settings.worker_name,
        queue=settings.worker_queue,
        gpus=list(facts.gpu_ids),
        nvidia_runtime=facts.nvidia_runtime,
        gpu_runs="yes" if facts.has_gpu else "refused (no GPU here)",
        container_prefix=container_prefix(settings, runner),
    )
    if facts.misconfigured:
        log.error("worker.gpus_unusable", reason=facts.misconfigured)


def _say_as_json(msg: str, f: TextIO | None = sys.__stderr__) -> None:
    """Celery's ``safe_say`` (signal handlers' messages) as one JSON line.

    Like the original, a single ``os.write``: it runs inside a signal handler.
    """
    record = {
        "event": msg.strip(),
        "level": "warning",
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    if f is None:
        return
    # Losing a shutdown notice must never break the shutdown.
    with contextlib.suppress(OSError, ValueError):
        os.write(f.fileno(), (json.dumps(record) + "\n").encode())


celery.apps.worker.safe_say = _say_as_json

# Celery's signal decorators are untyped; connect explicitly (weak=False: module functions).
setup_logging.connect(_configure_logging, weak=False)
worker_ready.connect(_announce, weak=False)
