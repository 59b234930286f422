"""examples/submit.py, the participant's upload script, against a real API over HTTP.

The API runs in uvicorn on a loopback port with the backend tests' fixtures (real
PostgreSQL, the test's transaction, jobs recorded instead of sent); the script runs
as a participant runs it, in its own process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi import FastAPI

from backend.jobs import EVALUATE_SUBMISSION, RecordingJobQueue
from tests.backend.conftest import World, app, jobs, settings, world  # noqa: F401 - fixtures
from tests.backend.live import serve
from tests.backend.tarballs import image_config, image_tarball

pytestmark = pytest.mark.postgres

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "submit.py"


def _submit(url: str, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--url", url],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PODIUM_TOKEN": token, "PATH": "/usr/bin:/bin"},
        check=False,
    )


def test_upload_is_accepted_and_printed(
    app: FastAPI,  # noqa: F811 - the fixture
    world: World,  # noqa: F811
    jobs: RecordingJobQueue,  # noqa: F811
    tmp_path: Path,
) -> None:
    tarball = tmp_path / "model.tar.gz"
    tarball.write_bytes(image_tarball(gzip_it=True, layer_bytes=3 * 1024 * 1024))
    with serve(app) as url:
        result = _submit(url, world.tokens["team_a"], str(tarball), "--phase", str(world.phase.id))
    assert result.returncode == 0, result.stderr
    submission = json.loads(result.stdout)
    assert submission["status"] == "queued"
    assert submission["size_bytes"] == tarball.stat().st_size
    assert result.stderr.count("(100%)") == 1
    assert [(j.task_name, j.args) for j in jobs.sent] == [
        (EVALUATE_SUBMISSION, (submission["id"],))
    ]


def test_refusal_shows_the_servers_message(
    app: FastAPI,  # noqa: F811
    world: World,  # noqa: F811
    tmp_path: Path,
) -> None:
    tarball = tmp_path / "root.tar"
    tarball.write_bytes(image_tarball(config=image_config(user="root")))
    with serve(app) as url:
        result = _submit(url, world.tokens["team_a"], str(tarball), "--phase", str(world.phase.id))
    assert result.returncode == 1
    assert "refused (422)" in result.stderr
    assert "runs as root" in result.stderr


def test_wait_gives_up_with_where_to_look(
    app: FastAPI,  # noqa: F811
    world: World,  # noqa: F811
    tmp_path: Path,
) -> None:
    tarball = tmp_path / "model.tar"
    tarball.write_bytes(image_tarball())
    with serve(app) as url:
        result = _submit(
            url,
            world.tokens["team_a"],
            str(tarball),
            "--phase",
            str(world.phase.id),
            "--wait",
            "--timeout",
            "0.5",
        )
    # Nothing evaluates jobs here, so the submission stays queued.
    assert result.returncode == 3, result.stderr
    assert "is still queued after 0.5 s" in result.stderr
    assert "/api/v1/submissions/" in result.stderr


def test_bad_arguments_exit_2_with_a_hint(tmp_path: Path) -> None:
    no_token = _submit("http://127.0.0.1:9", "", str(tmp_path / "x.tar"), "--phase", "1")
    assert no_token.returncode == 2
    assert "PODIUM_TOKEN" in no_token.stderr
    missing = _submit("http://127.0.0.1:9", "t", str(tmp_path / "x.tar"), "--phase", "1")
    assert missing.returncode == 2
    assert "docker save" in missing.stderr
    (tmp_path / "x.tar").write_bytes(b"x")
    unreachable = _submit("http://127.0.0.1:9", "t", str(tmp_path / "x.tar"), "--phase", "1")
    assert unreachable.returncode == 2
    assert "cannot reach" in unreachable.stderr
