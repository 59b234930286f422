"""Health probes of the compose services that serve no HTTP.

* ``python -m worker.health worker`` (the worker image's check): this worker's
  node (``$PODIUM_WORKER_NAME@$HOSTNAME``) answers a Celery ping through the
  broker. Its main process answers while a run goes on in the pool process. It
  imports neither the Celery app nor the Docker SDK, so a probe costs a fraction
  of ``celery -A worker.celery_app inspect ping`` on a busy host.
* ``python -m worker.health scheduler SCHEDULE`` (the ``scheduler`` service's):
  beat is not a worker and answers no ping; healthy means it has started (its
  schedule file exists) and can send the reaper (the broker answers).

Exit status 0 when healthy, else 1 with the reason on stderr.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import redis

from worker.config import get_worker_settings


def scheduler_problem(schedule: Path, broker_url: str) -> str | None:
    """Why the beat process is not healthy, or ``None``."""
    # The shelve's file names depend on the dbm module (.db, .dat, none).
    if not list(schedule.parent.glob(f"{schedule.name}*")):
        return f"beat has not written its schedule {schedule} yet"
    try:
        redis.Redis.from_url(broker_url, socket_timeout=5, socket_connect_timeout=5).ping()
    except redis.RedisError as exc:
        return f"broker {broker_url.rsplit('@', 1)[-1]} does not answer: {exc}"
    return None


def worker_problem(node: str, broker_url: str, *, timeout_s: float = 10.0) -> str | None:
    """Why the worker ``node`` is not healthy (no answer to a ping), or ``None``."""
    from celery import Celery  # noqa: PLC0415 - the scheduler's probe does without it

    app = Celery("podium-health", broker=broker_url)
    try:
        replies = app.control.ping(destination=[node], timeout=timeout_s)
    except Exception as exc:
        return f"cannot ask the broker: {exc}"
    finally:
        app.close()
    if not any(node in reply for reply in replies):
        return f"worker {node} did not answer a ping within {timeout_s:g} s"
    return None


def main(argv: list[str]) -> int:
    """The probe named by ``argv`` (``worker``, or ``scheduler SCHEDULE``)."""
    settings = get_worker_settings()
    if argv == ["worker"]:
        node = f"{settings.worker_name}@{socket.gethostname()}"
        problem = worker_problem(node, settings.broker_url)
    elif len(argv) == 2 and argv[0] == "scheduler":
        problem = scheduler_problem(Path(argv[1]), settings.broker_url)
    else:
        print("usage: python -m worker.health worker | scheduler SCHEDULE_FILE", file=sys.stderr)
        return 2
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
