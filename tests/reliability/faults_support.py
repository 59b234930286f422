"""Helpers for the fault-injection and worker-load tests: workers, private services, checks.

Workers are real ``celery worker`` processes (prefork, concurrency 1) as in
``tests/worker/test_celery_workers.py``; the Redis and PostgreSQL servers that
these tests restart are private ones on free ports, so the shared services on
56379/55432 (which other test sessions use) are never disturbed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from backend.audit.models import AuditEvent
from backend.submissions import repository as subs
from backend.submissions.lifecycle import FINISHED
from backend.submissions.models import Evaluation, Submission
from tests.support.celery_worker import CeleryWorker as Worker
from worker.context import WorkerContext

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    """A TCP port nobody listens on right now (127.0.0.1)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateRedis:
    """A redis-server of this test's own on a free port.

    ``persistent``: an append-only file, fsync on every write (what a production
    broker runs with), so the queue survives a restart; without it a restart
    loses every message. :meth:`stop` is a clean ``SHUTDOWN``.
    """

    def __init__(self, folder: Path, *, persistent: bool = True) -> None:
        self.folder = folder
        self.persistent = persistent
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start (or start again, reading the AOF back)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                "redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                "--dir", str(self.folder), "--appendonly", "yes" if self.persistent else "no",
                "--appendfsync", "always",
                "--save", "", "--logfile", str(self.folder / "redis.log"),
            ]
        )  # fmt: skip
        _wait_until(self._ping, 20, f"redis on {self.port}")

    def _ping(self) -> bool:
        done = subprocess.run(
            ["redis-cli", "-p", str(self.port), "ping"], check=False, capture_output=True, text=True
        )
        return "PONG" in done.stdout

    def stop(self) -> None:
        """Shut the server down and wait for the process to end."""
        if self.process is None or self.process.poll() is not None:
            return
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown"], check=False, capture_output=True
        )
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


class PrivatePostgres:
    """A PostgreSQL cluster of this test's own: ``initdb`` in a temp folder, a free port.

    Run as the ``postgres`` user (``runuser`` when the tests run as root),
    like ``scripts/services`` runs the shared one.
    """

    def __init__(self) -> None:
        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        if not bins:
            raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.bin = bins[-1].parent
        # A folder the postgres user can reach (pytest's tmp_path is root-only).
        self.folder = Path(tempfile.mkdtemp(prefix="podium-faults-pg-", dir="/var/tmp"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if os.getuid() == 0:
            shutil.chown(self.folder, user="postgres")
        self._as_postgres(
            [str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust"]
        )

    def _as_postgres(self, command: list[str]) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if os.getuid() == 0 else []
        done = subprocess.run(prefix + command, check=False, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{command[0]} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        """``pg_ctl start`` and wait until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off "
            "-c full_page_writes=off"
        )
        self._as_postgres(
            [
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"),
                "-w", "-t", "60", "-o", options, "start",
            ]
        )  # fmt: skip

    def stop(self) -> None:
        """``pg_ctl stop -m fast``: open connections are cut, as in a crash or failover."""
        self._as_postgres(
            [str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"]
        )

    def destroy(self) -> None:
        """Stop (if running) and delete the cluster."""
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def _wait_until(check: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not ready after {seconds} s")


def wait_terminal(
    context: WorkerContext, ids: Iterable[int], *, timeout: float = 120.0
) -> dict[int, Submission]:
    """Wait until every submission is terminal; the rows, by id."""
    wanted = list(ids)
    deadline = time.monotonic() + timeout
    while True:
        with context.session_factory() as session:
            rows = {i: session.get(Submission, i) for i in wanted}
        pending = {i: r.status.value for i, r in rows.items() if r.status not in FINISHED}
        if not pending:
            return rows  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"not terminal after {timeout} s: {pending}")
        time.sleep(0.2)


@dataclass(frozen=True)
class Ledger:
    """What the database holds about one submission after the dust settles."""

    status: str
    attempt: int
    evaluations: int
    case_scores: int
    quota_changes: list[int]
    audit_actions: list[str]
    audit_reasons: list[str]


def ledger(context: WorkerContext, submission_id: int) -> Ledger:
    """Evaluations, case scores, quota movements and audit actions of a submission."""
    with context.session_factory() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        evaluations = session.scalars(
            select(Evaluation).where(Evaluation.submission_id == submission_id)
        ).all()
        quota = [
            e.change
            for e in subs.quota_ledger(
                session, team_id=submission.team_id, phase_id=submission.phase_id
            )
            if e.submission_id == submission_id
        ]
        events = list(
            session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.target_type == "submission",
                    AuditEvent.target_id == str(submission_id),
                )
                .order_by(AuditEvent.id)
            )
        )
        return Ledger(
            status=submission.status.value,
            attempt=submission.attempt,
            evaluations=len(evaluations),
            case_scores=sum(len(subs.case_scores(session, e.id)) for e in evaluations),
            quota_changes=quota,
            audit_actions=[e.action for e in events],
            audit_reasons=[str((e.after or {}).get("reason", "")) for e in events],
        )


def leftovers(docker_client: Any, prefix: str) -> list[str]:
    """Containers and volumes whose name starts with ``prefix`` (none may outlive a run)."""
    containers = [c.name for c in docker_client.containers.list(all=True, filters={"name": prefix})]
    volumes = [v.name for v in docker_client.volumes.list(filters={"name": prefix})]
    return sorted(containers + volumes)


def wait_for_file(path: Path, *, timeout: float = 60.0, worker: Worker | None = None) -> None:
    """Wait until ``path`` exists (a pause point reached)."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{path.name} never appeared" + (f"\n{worker.text()}" if worker else "")
            )
        time.sleep(0.05)


def wait_for_stage(
    pauses: Path,
    stage: str,
    submission_id: int,
    *,
    after: int = 0,
    timeout: float = 60.0,
    worker: Worker | None,
) -> tuple[Path, int]:
    """Wait until an attempt later than ``after`` pauses at ``stage``: its file and number.

    Usually attempt ``after + 1``; an engine hiccup on the way (retried as an
    infrastructure error) makes it a later one, which is just as good.
    """
    deadline = time.monotonic() + timeout
    while True:
        found = sorted(
            (int(p.name.rsplit("-", 1)[1]), p)
            for p in pauses.glob(f"{stage}-{submission_id}-*")
            if int(p.name.rsplit("-", 1)[1]) > after
        )
        if found:
            attempt, path = found[0]
            return path, attempt
        if time.monotonic() > deadline:
            raise AssertionError(
                f"no attempt after {after} reached {stage}"
                + (f"\n{worker.text()}" if worker else "")
            )
        time.sleep(0.05)


def finished_lines(workers: Iterable[Worker], submission_id: int) -> list[str]:
    """The ``evaluation.finished`` log lines of one submission across workers.

    A submission enters a terminal state once: one such line, whichever worker ran it.
    """
    return [
        str(e["status"])
        for w in workers
        for e in w.events("evaluation.finished")
        if e.get("submission") == submission_id
    ]
