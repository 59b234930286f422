"""The registry-free image builder in tests/support works against the real engine."""

from __future__ import annotations

import tarfile

import pytest

from tests.support.images import build_image, save_image, shell_image

pytestmark = pytest.mark.docker


def test_built_image_runs_without_network_and_prints(docker_client):
    reference = shell_image(docker_client, "echo hello from $(id -u); ip link 2>/dev/null | wc -l")
    output = docker_client.containers.run(reference, remove=True, network_mode="none")
    lines = output.decode().splitlines()
    assert lines[0] == "hello from 1000"
    # Only the loopback interface exists (two lines of `ip link` per interface).
    assert lines[1] == "2"


def test_identical_requests_reuse_one_image(docker_client):
    first = build_image(docker_client, files={"/a.txt": "x\n"}, cmd=["cat", "/a.txt"])
    second = build_image(docker_client, files={"/a.txt": "x\n"}, cmd=["cat", "/a.txt"])
    other = build_image(docker_client, files={"/a.txt": "y\n"}, cmd=["cat", "/a.txt"])
    assert first == second
    assert other != first
    assert docker_client.containers.run(other, remove=True, network_mode="none") == b"y\n"


def test_save_writes_a_loadable_docker_save_tarball(docker_client, tmp_path):
    reference = build_image(docker_client, files={"/b.txt": "saved"}, cmd=["cat", "/b.txt"])
    image_id = save_image(docker_client, reference, tmp_path / "image.tar")
    with tarfile.open(tmp_path / "image.tar") as tar:
        names = tar.getnames()
    assert "manifest.json" in names
    assert image_id.startswith("sha256:")
    assert docker_client.images.get(reference).attrs["Config"]["User"] == "1000:1000"
