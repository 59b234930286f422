"""scripts/services explains a broken set-up instead of failing with a stack trace."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_missing_docker_engine_names_the_package(tmp_path: Path) -> None:
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    # A docker client that finds no engine, and no dockerd anywhere on PATH.
    docker = fake_bin / "docker"
    docker.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    docker.chmod(docker.stat().st_mode | stat.S_IEXEC)
    env = {
        **os.environ,
        "PATH": f"{fake_bin}:/usr/bin:/bin",
        "PODIUM_NO_INSTALL": "1",
        "PODIUM_TEST_STATE": str(tmp_path / "state"),
    }
    proc = subprocess.run(
        [str(ROOT / "scripts" / "services")], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0
    assert "docker.io" in proc.stderr
    assert "apt-get install" in proc.stderr
    assert "Traceback" not in proc.stderr
