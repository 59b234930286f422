"""Importing the worker connects to nothing: no Docker client, broker or database at import."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_importing_the_worker_needs_no_services():
    env = {
        **os.environ,
        "DOCKER_HOST": "unix:///nonexistent/docker.sock",
        "PODIUM_BROKER_URL": "redis://127.0.0.1:1/0",
        "PODIUM_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none",
    }
    code = (
        "import worker.tasks, worker.embedded, worker.reaper, worker.runner.docker\n"
        "from worker.runner.docker import DockerRunner\n"
        "DockerRunner()\n"
        "print('imported')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported"
