"""``podium-submit`` as a team runs it: push a local image, or stream ``docker save``.

Its own process, the real ``docker`` CLI (private config folder), the real
registry, the API under uvicorn on a committed PostgreSQL database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.images import shell_image
from tests.support.registry_world import registry_world

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def world(committing_postgres_url, engine_for, registry_server, tmp_path):
    with registry_world(
        engine=engine_for(committing_postgres_url),
        registry=registry_server,
        data_root=tmp_path / "data",
        max_upload_bytes=64 * 1024 * 1024,
    ) as built:
        yield built


def _run(world, tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "docker-config"
    config.mkdir(exist_ok=True)
    return subprocess.run(
        [sys.executable, "-m", "podium_submit", *args, "--url", world.base],
        capture_output=True,
        text=True,
        timeout=300,
        env={
            "PODIUM_TOKEN": world.people["a"].token,
            "DOCKER_CONFIG": str(config),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": os.getcwd(),
        },
        check=False,
    )


def test_a_local_image_is_pushed_then_submitted_by_digest(world, docker_client, tmp_path):
    image = shell_image(docker_client, "echo podium-submit")
    done = _run(world, tmp_path, image, "--phase", str(world.phase_id), "--name", "seg:v7")
    target = f"{world.prefix('a')}seg:v7"
    try:
        assert done.returncode == 0, done.stderr
        submission = json.loads(done.stdout)
        assert submission["image_source"] == "registry"
        assert submission["image_tags"] == [
            f"{world.prefix('a')}seg@{submission['manifest_digest']}"
        ]
        assert f"pushing {target}" in done.stderr
        assert "Pushed" in done.stderr or "Layer already exists" in done.stderr
        assert [list(j.args) for j in world.jobs.sent] == [[submission["id"]]]
    finally:
        subprocess.run(["docker", "rmi", "--no-prune", target], capture_output=True, check=False)


def test_docker_save_is_streamed_when_asked_for_a_tarball(world, docker_client, tmp_path):
    image = shell_image(docker_client, "echo tarball")
    done = _run(world, tmp_path, image, "--phase", str(world.phase_id), "--tarball")
    assert done.returncode == 0, done.stderr
    submission = json.loads(done.stdout)
    assert submission["image_source"] == "tarball"
    assert submission["image_digest"] == docker_client.images.get(image).id
    assert "(done)" in done.stderr


def test_what_cannot_be_submitted_says_so(world, tmp_path):
    missing = _run(world, tmp_path, "no-such-image:v1", "--phase", str(world.phase_id))
    assert missing.returncode == 2
    assert "neither a file nor an image your local docker has" in missing.stderr
    theirs = _run(world, tmp_path, f"{world.prefix('b')}m:v1", "--phase", str(world.phase_id))
    assert theirs.returncode == 2
    closed = _run(world, tmp_path, "x:v1", "--phase", "999999")
    assert closed.returncode == 1
    assert "refused (404)" in closed.stderr
