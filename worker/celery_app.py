"""The Celery application: one worker process per GPU, a queue per GPU host class.

Start a worker for GPU 0 of an A100 host::

    PODIUM_GPUS=0 PODIUM_WORKER_QUEUE=gpu-a100 \\
        celery -A worker.celery_app worker -Q gpu-a100 --concurrency 1 -n gpu0@%h

Settings that make a lost worker never lose a submission:

* ``task_acks_late`` + ``task_reject_on_worker_lost``: the message is
  acknowledged only when the task returns; a worker process that dies (SIGKILL,
  OOM, host reboot) puts it back on the queue;
* ``worker_prefetch_multiplier=1`` and concurrency 1: a worker holds one
  submission at a time, so the others wait on the queue for a free GPU;
* the broker's visibility timeout exceeds the task's hard time limit, so a
  long run is not handed to a second worker while the first still holds it.

The embedded mode does not use Celery at all: :func:`worker.tasks.run_embedded`
runs the same evaluation in-process.
"""

from __future__ import annotations

from celery import Celery

from backend.jobs import REAP_STUCK
from worker.config import WorkerSettings, get_worker_settings


def make_celery(settings: WorkerSettings) -> Celery:
    """A Celery app configured from ``settings`` (no connection is made here)."""
    app = Celery(
        "podium-worker", broker=settings.broker_url, include=["worker.tasks", "worker.notify"]
    )
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        worker_concurrency=1,
        task_default_queue=settings.worker_queue,
        task_time_limit=settings.task_time_limit_s,
        broker_transport_options={"visibility_timeout": settings.task_time_limit_s + 3600},
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        worker_hijack_root_logger=False,
        # Our handler writes to the real stderr; a redirect would log each line twice.
        worker_redirect_stdouts=False,
        beat_schedule={
            "reap-stuck-submissions": {
                "task": REAP_STUCK,
                "schedule": max(60.0, settings.heartbeat_s * 6),
            }
        },
    )
    return app


app = make_celery(get_worker_settings())

# Start-up signals (logging, host facts) and the `podium doctor` remote-control command.
import worker.doctor  # noqa: E402
import worker.startup  # noqa: E402, F401
