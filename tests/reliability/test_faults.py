"""Fault injection with real services: killed workers, restarted brokers and databases.

Every test ends with the same bookkeeping, per submission: one terminal state
(one ``evaluation.finished`` line across the workers' logs), one evaluation
with one score per (case, paradigm), one quota slot spent (or spent and
refunded), no container or volume left, and audit events naming the recovery.
The disk-full tests evaluate in-process (the fault is the disk, not the process)
on a small tmpfs mounted as the data root.
"""

from __future__ import annotations

import errno
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from backend.enums import SubmissionStatus
from backend.submissions.models import Submission
from tests.fixtures.database import alembic_upgrade
from tests.reliability.faults_support import (
    PrivatePostgres,
    PrivateRedis,
    Worker,
    finished_lines,
    ledger,
    leftovers,
    wait_for_stage,
    wait_terminal,
)
from tests.support.images import shell_image
from tests.support.worker import make_context, worker_env
from tests.support.world import World, make_world
from worker.context import WorkerContext
from worker.reaper import reap_stuck
from worker.tasks import run_embedded

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

COPY_INPUTS = 'for f in /input/*; do cp "$f" /output/; done; echo copied'


class Pool:
    """Workers for one test on one queue, the world they evaluate, and a sender."""

    def __init__(
        self, *, context: WorkerContext, world: World, broker_url: str, logs: Path
    ) -> None:
        self.context = context
        self.world = world
        self.queue = f"faults-{uuid.uuid4().hex[:8]}"
        self.env = worker_env(context, broker_url=broker_url)
        self.logs = logs
        self.workers: list[Worker] = []
        self.sender = Celery("podium-faults-sender", broker=broker_url)

    def start(self, name: str, **extra_env: str) -> Worker:
        worker = Worker(
            name=f"{self.queue}-{name}",
            queue=self.queue,
            env={**self.env, **extra_env},
            log=self.logs / f"{name}.log",
        )
        self.workers.append(worker)
        return worker

    def submit(self, docker_client: Any, script: str, count: int = 1) -> list[int]:
        image = shell_image(docker_client, script)
        with self.context.session_factory.begin() as session:
            return [
                self.world.add_submission(session, docker_client=docker_client, image=image)
                for _ in range(count)
            ]

    def send(self, ids: list[int]) -> None:
        for submission_id in ids:
            self.sender.send_task("evaluate_submission", args=[submission_id], queue=self.queue)

    def close(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.sender.close()

    def assert_exactly_once(self, docker_client: Any, ids: list[int]) -> None:
        """Each submission succeeded once, scored once, charged once; nothing left running."""
        rows = wait_terminal(self.context, ids, timeout=150)
        for submission_id in ids:
            found = ledger(self.context, submission_id)
            assert rows[submission_id].status == SubmissionStatus.SUCCEEDED, found
            assert (found.evaluations, found.case_scores) == (1, 4), found
            assert found.quota_changes == [-1], found
            assert finished_lines(self.workers, submission_id) == ["succeeded"]
        assert leftovers(docker_client, self.context.settings.container_prefix) == []


def _pool(context: WorkerContext, broker_url: str, tmp_path: Path) -> Pool:
    with context.session_factory.begin() as session:
        world = make_world(session, data_root=context.settings.data_root, cases=2, samples=0)
    return Pool(context=context, world=world, broker_url=broker_url, logs=tmp_path)


@pytest.fixture
def pool(committing_postgres_url, docker_client, redis_url, tmp_path) -> Iterator[Pool]:
    """Workers on the shared Redis (a queue of their own) and a fresh database."""
    context = make_context(
        database_url=committing_postgres_url,
        data_root=tmp_path / "data",
        work_dir=tmp_path / "work",
        docker_client=docker_client,
    )
    pool = _pool(context, redis_url, tmp_path)
    yield pool
    pool.close()


def _wait_container(docker_client: Any, name: str, worker: Worker, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not docker_client.containers.list(filters={"name": f"{name}$", "status": "running"}):
        assert time.monotonic() < deadline, worker.text()
        time.sleep(0.05)


@pytest.mark.parametrize("stage", ["container", "scoring", "persist"])
def test_a_worker_killed_at_any_stage_ends_the_submission_exactly_once(
    stage, pool, docker_client, tmp_path
):
    pauses = tmp_path / "pauses"
    pauses.mkdir()
    hook = {"PODIUM_FAULT_PAUSE_DIR": str(pauses), "PODIUM_FAULT_PAUSE_AT": stage}
    worker = pool.start("w1", **({} if stage == "container" else hook))
    script = ("sleep 3\n" if stage == "container" else "") + COPY_INPUTS
    (submission_id,) = pool.submit(docker_client, script)
    worker.wait_ready()
    pool.send([submission_id])
    if stage == "container":
        name = f"{pool.context.settings.container_prefix}-sub-{submission_id}-1"
        _wait_container(docker_client, name, worker)
    else:
        _, killed = wait_for_stage(pauses, stage, submission_id, worker=worker)
    worker.kill_pool_process()
    if stage != "container":
        # The redelivery takes over as the next attempt and reaches the same point: let it go.
        later, _ = wait_for_stage(pauses, stage, submission_id, after=killed, worker=worker)
        later.unlink()

    pool.assert_exactly_once(docker_client, [submission_id])
    found = ledger(pool.context, submission_id)
    # One takeover; an engine hiccup on the way is retried as ours (an attempt and an audit
    # event each), never charged to the team.
    retries = found.audit_actions.count("submission.retry")
    assert found.attempt == 2 + retries
    assert sorted(found.audit_actions) == ["submission.recovered"] + ["submission.retry"] * retries
    stored = pool.world.data_root / "predictions" / str(submission_id)
    predictions = sorted(p.name for p in stored.iterdir())
    assert predictions == ["case_000.nii.gz", "case_001.nii.gz"]  # stored once, no partials


@pytest.mark.parametrize("persistent", [True, False], ids=["aof", "no-persistence"])
def test_redis_restarted_with_submissions_queued_and_running(
    persistent, committing_postgres_url, docker_client, tmp_path
):
    redis = PrivateRedis(tmp_path / "redis", persistent=persistent)
    redis.start()
    context = make_context(
        database_url=committing_postgres_url,
        data_root=tmp_path / "data",
        work_dir=tmp_path / "work",
        docker_client=docker_client,
    )
    pool = _pool(context, redis.url, tmp_path)
    try:
        worker = pool.start("w1")
        ids = pool.submit(docker_client, "sleep 1\n" + COPY_INPUTS, count=5)
        worker.wait_ready()
        pool.send(ids)
        name = f"{context.settings.container_prefix}-sub-{ids[0]}-1"
        _wait_container(docker_client, name, worker)
        redis.stop()  # the first runs, four wait on the queue
        time.sleep(2)
        redis.start()
        if not persistent:
            # The queued messages are gone; the rows still say queued. The reaper
            # (here with a 1 s "long after it was sent") sends them again.
            wait_terminal(context, ids[:1])
            reaper = replace(
                context,
                settings=context.settings.model_copy(
                    update={"task_time_limit_s": 1, "evaluation_queue": pool.queue}
                ),
            )
            time.sleep(1.5)
            resent = reap_stuck(
                send=lambda i, queue: pool.sender.send_task(
                    "evaluate_submission", args=[i], queue=queue
                ),
                context=reaper,
            )
            lost = {i for i in ids if ledger(context, i).audit_actions == ["submission.resent"]}
            assert {i for i, action in resent if action == "resent"} == lost
            assert lost, "no message was lost: the restart did not drop the queue"
        pool.assert_exactly_once(docker_client, ids)
        assert "Connection to broker lost" in worker.text()
    finally:
        pool.close()
        redis.stop()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    """A migrated PostgreSQL cluster this test may stop and start."""
    server = PrivatePostgres()
    try:
        server.start()
        alembic_upgrade(server.url)
        yield server
    finally:
        server.destroy()


def test_postgres_restarted_with_submissions_queued_and_running(
    private_postgres, docker_client, redis_url, tmp_path
):
    context = make_context(
        database_url=private_postgres.url,
        data_root=tmp_path / "data",
        work_dir=tmp_path / "work",
        docker_client=docker_client,
    )
    pool = _pool(context, redis_url, tmp_path)
    try:
        worker = pool.start("w1", PODIUM_MAX_ATTEMPTS="3")
        ids = pool.submit(docker_client, "sleep 2\n" + COPY_INPUTS, count=3)
        worker.wait_ready()
        pool.send(ids)
        name = f"{context.settings.container_prefix}-sub-{ids[0]}-1"
        _wait_container(docker_client, name, worker)
        private_postgres.stop()  # the container finishes while the database is away
        time.sleep(4)
        private_postgres.start()
        pool.assert_exactly_once(docker_client, ids)
        # The run whose container finished during the outage either sees its own write fail
        # and retries (when the database is back before its retry) or is taken over by the
        # redelivery after its heartbeat went silent; both are audited, and once only.
        actions = ledger(context, ids[0]).audit_actions
        assert {"submission.recovered", "submission.retry"} & set(actions), actions
        assert "evaluation.cannot_start" in worker.text() or "unexpected_error" in worker.text()
    finally:
        pool.close()
        context.session_factory.kw["bind"].dispose()


@pytest.fixture
def small_disk(tmp_path) -> Iterator[Path]:
    """A 12 MiB tmpfs (the world, two image tarballs and little else fit), unmounted after."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=12m", "podium-faults", str(mount)],
        check=False,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        message = f"cannot mount a tmpfs (needs root): {done.stderr.strip()}"
        if os.environ.get("PODIUM_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(message)
        pytest.skip(message)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=False)


def _fill(path: Path) -> None:
    """Write to ``path`` until the file system refuses (ENOSPC)."""
    block = b"\0" * (64 * 1024)
    with path.open("wb", buffering=0) as out:
        while True:
            try:
                out.write(block)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                return


@pytest.mark.parametrize("full", ["outputs", "predictions"])
def test_a_full_data_disk_is_our_fault_refunded_and_the_service_recovers(
    full, small_disk, committing_postgres_url, docker_client, tmp_path
):
    # outputs: the scratch folder is on the full disk too, so /output cannot be
    # copied out; predictions: scratch elsewhere, the predictions cannot be stored.
    context = make_context(
        database_url=committing_postgres_url,
        data_root=small_disk,
        work_dir=small_disk / "work" if full == "outputs" else tmp_path / "work",
        docker_client=docker_client,
        max_attempts=2,
    )
    image = shell_image(docker_client, COPY_INPUTS)
    with context.session_factory.begin() as session:
        world = make_world(session, data_root=small_disk, cases=2, samples=0)
        submission_id = world.add_submission(session, docker_client=docker_client, image=image)
    _fill(small_disk / "filler")

    assert run_embedded(submission_id, context=context) == "error"
    found = ledger(context, submission_id)
    assert (found.evaluations, found.case_scores) == (0, 0)  # nothing half-written counted
    assert found.quota_changes == [-1, 1]  # spent, then refunded
    assert found.audit_actions == ["submission.retry", "submission.error"]
    with context.session_factory() as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        assert row.failure_class == "infrastructure"
        assert "refunded" in row.message
        assert "No space left on device" in row.log_tail
        where = "cannot copy /output out" if full == "outputs" else "cannot store the prediction"
        assert where in row.log_tail
    assert [p.name for p in small_disk.rglob("*") if p.name.endswith(".partial")] == []
    assert not list((small_disk / "predictions").rglob("*.nii.gz"))
    assert not (Path(context.settings.scratch_dir) / f"sub-{submission_id}-1").exists()
    assert leftovers(docker_client, context.settings.container_prefix) == []

    (small_disk / "filler").unlink()  # space freed: the next submission goes through
    with context.session_factory.begin() as session:
        again = world.add_submission(session, docker_client=docker_client, image=image)
    assert run_embedded(again, context=context) == "succeeded"
    found = ledger(context, again)
    assert (found.evaluations, found.case_scores, found.quota_changes) == (1, 4, [-1])
    assert found.audit_actions == []
    assert leftovers(docker_client, context.settings.container_prefix) == []
    context.session_factory.kw["bind"].dispose()
