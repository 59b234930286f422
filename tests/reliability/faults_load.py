"""A worker pool under load: submissions of well-behaved and hostile containers, and checks.

Shared by ``test_worker_load.py`` (30 submissions, 2 workers) and
``benchmarks/faults.py`` (any size). The hostile containers are the cases of
``tests/worker/test_runner_sandbox.py``: a fork bomb, a memory hog, a network probe.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import Celery
from sqlalchemy import select

from backend.enums import SubmissionStatus
from backend.submissions.models import CaseScore, Evaluation, Submission
from tests.reliability.faults_support import (
    Worker,
    finished_lines,
    ledger,
    leftovers,
    wait_terminal,
)
from tests.support.images import shell_image
from tests.support.worker import worker_env
from tests.support.world import make_world
from worker.context import WorkerContext

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


def load_plan(*, submissions: int, hostile_each: int) -> list[str]:
    """Kinds in sending order: ``hostile_each`` of each hostile kind spread among the rest."""
    hostile = [kind for _ in range(hostile_each) for kind in HOSTILE]
    plan = ["ok"] * (submissions - len(hostile))
    step = max(1, len(plan) // max(1, len(hostile)))
    for index, kind in enumerate(hostile):
        plan.insert(min(len(plan), 2 + index * (step + 1)), kind)
    return plan


@dataclass
class LoadRun:
    """What a load run sent and how long the pool took."""

    context: WorkerContext
    kinds: dict[int, str]
    elapsed_s: float
    workers: list[Worker]
    per_worker: Counter[int] = field(default_factory=Counter)
    retries: dict[int, list[str]] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the report."""
        hostile = sum(1 for k in self.kinds.values() if k != "ok")
        return (
            f"{len(self.kinds)} submissions ({hostile} hostile) on {len(self.workers)} workers "
            f"in {self.elapsed_s:.1f} s = {len(self.kinds) / self.elapsed_s * 60:.1f} per "
            f"minute; per worker {dict(sorted(self.per_worker.items()))}; "
            f"infrastructure retries {self.retries or 'none'}"
        )


def run_pool_load(
    *,
    context: WorkerContext,
    docker_client: Any,
    broker_url: str,
    logs: Path,
    workers: int,
    plan: list[str],
    timeout_s: float = 240,
) -> LoadRun:
    """Start ``workers`` Celery workers on one queue, send ``plan`` at once, wait for all."""
    queue = f"load-{uuid.uuid4().hex[:8]}"
    env = worker_env(context, broker_url=broker_url)
    pool = [
        Worker(name=f"{queue}-{n}", queue=queue, env=env, log=logs / f"worker-{n}.log")
        for n in range(workers)
    ]
    sender = Celery("podium-load-sender", broker=broker_url)
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
            for kind in plan:
                submission_id = world.add_submission(
                    session,
                    docker_client=docker_client,
                    image=images[kind],
                    slot_limit=len(plan) + 1,
                )
                kinds[submission_id] = kind
        for worker in pool:
            worker.wait_ready()
        started = time.monotonic()
        for submission_id in kinds:
            sender.send_task("evaluate_submission", args=[submission_id], queue=queue)
        wait_terminal(context, kinds, timeout=timeout_s)
        elapsed = time.monotonic() - started
    finally:
        for worker in pool:
            worker.stop()
        sender.close()
    return LoadRun(context=context, kinds=kinds, elapsed_s=elapsed, workers=pool)


def check_load(run: LoadRun, *, docker_client: Any) -> None:
    """Assert exactly-once, the hostile classes, the scores and a clean engine."""
    context = run.context
    for submission_id, kind in run.kinds.items():
        with context.session_factory() as session:
            row = session.get(Submission, submission_id)
        assert row is not None
        found = ledger(context, submission_id)
        assert found.quota_changes == [-1], (kind, found)  # the team's outcome spends the slot
        # An infrastructure fault on the shared engine (rare) is retried, and the
        # retry is in the audit log; anything else there is not expected.
        assert set(found.audit_actions) <= {"submission.retry"}, (kind, found)
        assert found.attempt == 1 + len(found.audit_actions), (kind, found)
        if found.audit_actions:
            run.retries[submission_id] = found.audit_reasons
        lines = [finished_lines([w], submission_id) for w in run.workers]
        assert sum(len(x) for x in lines) == 1, (kind, lines)  # terminal exactly once
        run.per_worker.update(i for i, x in enumerate(lines) if x)
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
            # Contained either way: on a starved machine the 5 s limit can come before
            # 300 MB of /dev/zero (the classification itself: test_runner_sandbox.py).
            assert row.failure_class in {"out_of_memory", "timeout"}, row.message
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
    well_behaved = sum(1 for k in run.kinds.values() if k == "ok")
    assert dice[("visible", 1.0)] == well_behaved * 2, dice
    assert sum(n for (p, d), n in dice.items() if p == "combined" and d < 1.0) == well_behaved * 2
    assert set(run.per_worker) == set(range(len(run.workers))), run.per_worker  # all took a share
    assert leftovers(docker_client, context.settings.container_prefix) == []
