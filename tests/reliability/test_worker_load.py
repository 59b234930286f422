"""The worker pool under load: two Celery workers, thirty submissions sent at once.

A fifth of them are hostile (the cases of ``tests/worker/test_runner_sandbox.py``:
a fork bomb, a memory hog, a network probe) and run between the well-behaved
ones on the same two workers. Every submission ends in one terminal state,
exactly once; the hostile ones are classified as the team's failure; the
well-behaved ones are scored correctly; nothing is left on the engine. The
throughput is printed (``-s``) for docs/reliability.md; ``benchmarks/faults.py``
runs the same at any size.
"""

from __future__ import annotations

import itertools
from collections import Counter

import pytest

from tests.reliability.faults_load import check_load, load_plan, run_pool_load
from tests.support.worker import make_context

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def test_the_load_plan_spreads_the_hostile_ones_through_the_queue():
    plan = load_plan(submissions=30, hostile_each=2)
    assert Counter(plan) == {"ok": 24, "fork_bomb": 2, "memory_hog": 2, "network": 2}
    positions = [i for i, kind in enumerate(plan) if kind != "ok"]
    assert positions[0] == 2
    assert min(b - a for a, b in itertools.pairwise(positions)) > 1


def test_two_workers_finish_thirty_submissions_with_hostile_ones_among_them(
    committing_postgres_url, docker_client, redis_url, tmp_path
):
    context = make_context(
        database_url=committing_postgres_url,
        data_root=tmp_path / "data",
        work_dir=tmp_path / "work",
        docker_client=docker_client,
    )
    run = run_pool_load(
        context=context,
        docker_client=docker_client,
        broker_url=redis_url,
        logs=tmp_path,
        workers=2,
        plan=load_plan(submissions=30, hostile_each=2),
    )
    check_load(run, docker_client=docker_client)
    print(f"\nworker load: {run.summary()}")
    context.session_factory.kw["bind"].dispose()
