"""Health probes of the compose services that serve no HTTP.

``python -m worker.health scheduler SCHEDULE`` is the ``scheduler`` (Celery beat)
service's check: beat is not a worker, so ``celery inspect ping`` cannot reach it.
Healthy means it has started (its schedule file exists) and can send the reaper
(the broker answers). Exit status 0 when healthy, else 1 with the reason.
"""

from __future__ import annotations

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


def main(argv: list[str]) -> int:
    """The probe named by ``argv`` (``scheduler SCHEDULE``)."""
    if len(argv) != 2 or argv[0] != "scheduler":
        print("usage: python -m worker.health scheduler SCHEDULE_FILE", file=sys.stderr)
        return 2
    problem = scheduler_problem(Path(argv[1]), get_worker_settings().broker_url)
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
