"""``scripts/demo`` as a child process, for the tests that run it (test_demo, test_docs)."""

from __future__ import annotations

import queue
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

#: The line the demo prints once the board is filled.
READY = re.compile(r"^Podium demo is ready at (http://\S+)$")


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class DemoProcess:
    """``scripts/demo`` running, with its stdout collected line by line."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def __post_init__(self) -> None:
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for_line(self, pattern: re.Pattern[str], *, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._queue.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                pytest.fail(f"scripts/demo ended early:\n{self.output()}")
            self.lines.append(line)
            if match := pattern.match(line):
                return match
        pytest.fail(f"no line matching {pattern.pattern} within {timeout:.0f} s:\n{self.output()}")

    def stop(self, *, timeout: float = 30) -> int:
        """SIGINT (Ctrl-C), then the exit status; collects the rest of the output."""
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=timeout)
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)
        return code

    def output(self) -> str:
        return "\n".join(self.lines)


def start_demo(script: Path, env: dict[str, str]) -> DemoProcess:
    """Run ``script`` (a ``scripts/demo``) from its checkout, stdout and stderr together."""
    process = subprocess.Popen(
        [str(script)],
        cwd=script.parent.parent,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return DemoProcess(process)
