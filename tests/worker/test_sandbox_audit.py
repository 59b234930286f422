"""Sandbox audit: inspect the container the runner really creates and check every flag."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from tests.support.engines import ENGINE_NAMES, engine_client
from tests.support.images import shell_image
from tests.support.sandbox import TEST_LIMITS
from worker.runner.base import MIB, ImageRef, RunSpec
from worker.runner.docker import DockerRunner

pytestmark = pytest.mark.docker


@pytest.fixture(params=ENGINE_NAMES)
def docker_client(request):
    """Every test here runs on both image stores (tests/support/engines.py)."""
    return engine_client(request)


SCRIPT = "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status\nid -u; id -g\nsleep 2\n"


def _inspect_while_running(docker_client, name: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = docker_client.containers.list(filters={"name": f"^/{name}$"})
        if found:
            return docker_client.api.inspect_container(found[0].id)
        time.sleep(0.05)
    raise AssertionError(f"container {name} never ran")


def test_every_sandbox_flag_is_set(docker_client, runner, tmp_path):
    image = runner.present_image(shell_image(docker_client, SCRIPT))
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    spec = RunSpec(
        name=f"podium-sub-audit{uuid.uuid4().hex[:8]}-1",
        image=image,
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
        limits=TEST_LIMITS,
    )
    results = []
    thread = threading.Thread(target=lambda: results.append(runner.run(spec)))
    thread.start()
    attrs = _inspect_while_running(docker_client, spec.name)
    keeper = docker_client.api.inspect_container(f"{spec.name}-keeper")
    volume = docker_client.volumes.get(f"{spec.name}-output").attrs
    thread.join(30)
    host, config = attrs["HostConfig"], attrs["Config"]

    assert host["NetworkMode"] == "none"
    assert config["NetworkDisabled"] is True
    assert list(attrs["NetworkSettings"]["Networks"]) in ([], ["none"])
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert not host["CapAdd"]
    assert host["SecurityOpt"] == ["no-new-privileges"]  # and so no seccomp=unconfined
    assert host["Privileged"] is False
    assert config["User"] == "1000:1000"
    assert host["Memory"] == TEST_LIMITS.memory_bytes
    assert host["MemorySwap"] == TEST_LIMITS.memory_bytes
    assert host["PidsLimit"] == TEST_LIMITS.pids
    assert host["NanoCpus"] == int(TEST_LIMITS.cpus * 1e9)
    assert host["Tmpfs"] == {"/tmp": f"size={TEST_LIMITS.tmp_bytes},mode=1777"}
    assert host["ShmSize"] == spec.shm_bytes == 64 * MIB  # the original contract's /dev/shm
    assert not host["DeviceRequests"]
    assert not host["Devices"]
    assert not host["Binds"]
    assert host["LogConfig"] == {"Type": "json-file", "Config": {"max-size": "8m", "max-file": "2"}}
    assert host["IpcMode"] in ("private", "none")
    assert host["PidMode"] == ""
    assert host["UsernsMode"] == ""

    mounts = {m["Destination"]: m for m in attrs["Mounts"]}
    assert set(mounts) == {"/input", "/output"}
    assert mounts["/input"]["Type"] == "bind"
    assert mounts["/input"]["RW"] is False
    assert mounts["/input"]["Source"] == str((tmp_path / "in").resolve())
    assert mounts["/output"]["Type"] == "volume"
    assert mounts["/output"]["RW"] is True
    assert mounts["/output"]["Name"] == volume["Name"]
    assert volume["Options"] == {
        "type": "tmpfs",
        "device": "tmpfs",
        "o": f"size={TEST_LIMITS.output_bytes},uid=1000,gid=1000,mode=0755",
    }
    assert "docker.sock" not in str(attrs)

    # The keeper holds only the output volume, with nothing to offer either.
    assert keeper["HostConfig"]["NetworkMode"] == "none"
    assert keeper["HostConfig"]["ReadonlyRootfs"] is True
    assert keeper["HostConfig"]["CapDrop"] == ["ALL"]
    assert keeper["Config"]["User"] == "65534:65534"
    assert [m["Destination"] for m in keeper["Mounts"]] == ["/output"]

    # And from the inside: no capabilities at all, no privilege gain, not root.
    (result,) = results
    status = dict(line.split(":\t") for line in result.log.splitlines()[:4])
    assert status["CapEff"] == "0000000000000000"
    assert status["CapBnd"] == "0000000000000000"
    assert status["NoNewPrivs"] == "1"
    assert status["Seccomp"] == "2"  # the engine's default seccomp filter applies
    assert result.log.splitlines()[-2:] == ["1000", "1000"]


def test_a_gpu_is_requested_only_when_configured(tmp_path):
    # Pure option building (no GPU on CI): PODIUM_GPUS maps to one device request.
    runner = DockerRunner(client_factory=lambda: None)
    image = ImageRef(image_id="sha256:" + "0" * 64, user="1000:1000", loaded=False)
    spec = RunSpec(
        name="n", image=image, input_dir=tmp_path, output_dir=tmp_path, limits=TEST_LIMITS
    )
    assert "device_requests" not in runner._sandbox_options(spec, "v")
    with_gpu = RunSpec(
        name="n",
        image=image,
        input_dir=tmp_path,
        output_dir=tmp_path,
        limits=TEST_LIMITS,
        gpus=("1",),
    )
    (request,) = runner._sandbox_options(with_gpu, "v")["device_requests"]
    assert request["DeviceIDs"] == ["1"]
    assert request["Capabilities"] == [["gpu"]]
