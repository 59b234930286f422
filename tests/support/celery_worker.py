"""A real ``celery worker`` subprocess for tests: one pool process, one queue."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]


class CeleryWorker:
    """A ``celery worker`` subprocess (prefork, concurrency 1) named ``name``, consuming ``queue``.

    It runs exactly as a deployed GPU worker does, talking to the services named in
    ``env`` (``PODIUM_*`` settings); its output goes to ``log``.
    """

    def __init__(self, *, name: str, queue: str, env: dict[str, str], log: Path) -> None:
        self.name = name
        self.queue = queue
        self.log = log
        self._out = log.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "worker.celery_app", "--quiet", "worker",
                "-Q", queue, "--concurrency", "1", "--pool", "prefork",
                "-n", f"{name}@%h", "--without-mingle", "--without-gossip", "-l", "info",
            ],
            cwd=REPO,
            env={
                **os.environ,
                **env,
                "PODIUM_WORKER_QUEUE": queue,
                # Tests run as root, which a deployed worker never does (uid and gid
                # 10001); Celery's warning about it comes before logging is set up.
                "PYTHONWARNINGS": "ignore:You're running the worker with superuser privileges",
            },
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def text(self) -> str:
        """The worker's log so far."""
        return self.log.read_text(errors="replace")

    def records(self) -> list[dict[str, object]]:
        """The log's lines as JSON objects (a line that is not one fails the test)."""
        records = []
        for line in self.text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise AssertionError(
                    f"worker {self.name} logged a non-JSON line: {line!r}"
                ) from exc
            assert isinstance(record, dict), line
            records.append(record)
        return records

    def events(self, event: str) -> list[dict[str, object]]:
        """The log records of one structlog event, e.g. ``evaluation.finished``."""
        return [r for r in self.records() if r.get("event") == event]

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait for Celery's ``ready.`` line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "ready." in self.text():
                return
            assert self.process.poll() is None, self.text()
            time.sleep(0.2)
        raise AssertionError(f"worker {self.name} did not start:\n{self.text()}")

    def pool_children(self) -> list[psutil.Process]:
        """The pool processes (the ones that run tasks)."""
        return psutil.Process(self.process.pid).children()

    def kill_pool_process(self) -> int:
        """SIGKILL the pool process (the one running the task); returns its pid."""
        (child,) = self.pool_children()
        child.send_signal(signal.SIGKILL)
        return int(child.pid)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not stop."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if not self._out.closed:
            self._out.close()
