"""The worker pool under load: two Celery workers, thirty submissions sent at once.

A fifth of them are hostile (the cases of ``tests/worker/test_runner_sandbox.py``:
a fork bomb, a memory hog, a network probe) and run between the well-behaved
ones on the same two workers. Every submission ends in one terminal state,
exactly once; the hostile ones are classified as the team's failure; the
well-behaved ones are scored correctly; nothing is left on the engine. The
throughput is printed (``-s``) for docs/reliability.md.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest
from celery import Celery
from sqlalchemy import select

from backend.enums import SubmissionStatus
from backend.submissions.models import CaseScore, Evaluation, Submission
from tests.reliability.faults_support import (
    Worker,
    finished_lines,
    ledger,
    leftovers,
    make_context,
    wait_terminal,
    worker_env,
)
from tests.support.images import shell_image
from tests.support.world import make_world

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

WELL_BEHAVED = 'for f in /input/*; do cp "$f" /output/; done; echo copied'
HOSTILE = {
    "fork_bomb": "b() { b | b & }; b; sleep 30",
    # busybox tail keeps a whole "line" of /dev/zero (no newline) in memory.
    "memory_hog": "head -c 300m /dev/zero | tail; echo survived=$?",
    "network": (
        "exec 2>&1\n"
        "nc -w 1 127.0.0.1 55432 </dev/null && echo REACHED-HOST-POSTGRES\n"
        "nc -w 1 127.0.0.1 56379 </dev/null && echo REACHED-HOST-REDIS\n"
        "nc -w 1 1.1.1.1 80 </dev/null && echo REACHED-INTERNET\n"
        "exit 3"
    ),
}
#: Two of each hostile kind among thirty.
PLAN = ["ok"] * 24 + [kind for kind in HOSTILE for _ in range(2)]


def _order(plan: list[str]) -> list[str]:
    """Spread the hostile ones through the queue (deterministic)."""
    hostile = [k for k in plan if k != "ok"]
    ordered = [k for k in plan if k == "ok"]
    for index, kind in enumerate(hostile):
        ordered.insert(2 + index * 4, kind)
    return ordered


def test_two_workers_finish_thirty_submissions_with_hostile_ones_among_them(
    committing_postgres_url, docker_client, redis_url, tmp_path
):
    context = make_context(
        database_url=committing_postgres_url,
        data_root=tmp_path / "data",
        work_dir=tmp_path / "work",
        docker_client=docker_client,
    )
    queue = f"load-{uuid.uuid4().hex[:8]}"
    env = worker_env(context, broker_url=redis_url)
    workers = [
        Worker(name=f"{queue}-{n}", queue=queue, env=env, log=tmp_path / f"w{n}.log")
        for n in (1, 2)
    ]
    sender = Celery("podium-load-sender", broker=redis_url)
    try:
        images = {"ok": shell_image(docker_client, WELL_BEHAVED)} | {
            kind: shell_image(docker_client, script) for kind, script in HOSTILE.items()
        }
        kinds: dict[int, str] = {}
        with context.session_factory.begin() as session:
            # A 5 s limit keeps the fork bomb's worst case (sleeping into it) short.
            world = make_world(
                session, data_root=context.settings.data_root, cases=2, samples=0, time_limit_s=5
            )
            for kind in _order(PLAN):
                submission_id = world.add_submission(
                    session, docker_client=docker_client, image=images[kind], slot_limit=40
                )
                kinds[submission_id] = kind
        for worker in workers:
            worker.wait_ready()
        started = time.monotonic()
        for submission_id in kinds:
            sender.send_task("evaluate_submission", args=[submission_id], queue=queue)
        rows = wait_terminal(context, kinds, timeout=240)
        elapsed = time.monotonic() - started
    finally:
        for worker in workers:
            worker.stop()
        sender.close()

    per_worker = Counter()
    for submission_id, kind in kinds.items():
        row: Submission = rows[submission_id]
        found = ledger(context, submission_id)
        assert found.quota_changes == [-1], (kind, found)  # the team's outcome spends the slot
        assert found.attempt == 1, (kind, found)
        assert found.audit_actions == [], (kind, found)  # no retry, no recovery
        lines = [finished_lines([w], submission_id) for w in workers]
        assert sum(len(x) for x in lines) == 1, (kind, lines)  # terminal exactly once
        per_worker.update(i for i, x in enumerate(lines) if x)
        if kind == "ok":
            assert row.status == SubmissionStatus.SUCCEEDED, (kind, row.message)
            assert (found.evaluations, found.case_scores) == (1, 4)
            continue
        assert row.status == SubmissionStatus.FAILED, (kind, row.message)
        assert (found.evaluations, found.case_scores) == (0, 0)
        if kind == "fork_bomb":
            assert row.failure_class in {"timeout", "nonzero_exit"}, row.message
            assert "can't fork" in row.log_tail
        elif kind == "memory_hog":
            assert row.failure_class == "out_of_memory", row.message
        else:
            assert row.failure_class == "nonzero_exit", row.message
            assert "REACHED" not in row.log_tail
            assert "Network is unreachable" in row.log_tail

    with context.session_factory() as session:
        dice = Counter(
            (paradigm, round(value, 6))
            for paradigm, value in session.execute(
                select(CaseScore.paradigm, CaseScore.dice).join(Evaluation)
            )
        )
    # Copying the inputs predicts the visible label exactly and misses the one
    # lesion only the combined label has (tests/support/world.py).
    assert dice[("visible", 1.0)] == 24 * 2
    assert sum(n for (p, d), n in dice.items() if p == "combined" and d < 1.0) == 24 * 2
    assert set(per_worker) == {0, 1}, per_worker  # both workers took a share
    assert leftovers(docker_client, context.settings.container_prefix) == []
    print(
        f"\nworker load: {len(kinds)} submissions (6 hostile) on 2 workers in {elapsed:.1f} s "
        f"= {len(kinds) / elapsed * 60:.1f} per minute; per worker {dict(per_worker)}"
    )
    context.session_factory.kw["bind"].dispose()
