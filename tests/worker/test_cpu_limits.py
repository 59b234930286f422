"""The CPU share: a worker asking for more CPUs than the engine's host has still runs.

A Docker engine refuses ``--cpus`` above its host's CPU count, so the default
share (4) failed every run on a 2-CPU host; the runner clamps it to ``NCPU``.
"""

from __future__ import annotations

import doctest
import threading
import time
import uuid

import pytest
from structlog.testing import capture_logs

from tests.support.engines import ENGINE_NAMES, engine_client
from tests.support.images import shell_image
from worker.config import WorkerSettings
from worker.runner import cpus
from worker.runner.base import MIB, RunSpec
from worker.runner.docker import DockerRunner

# cgroup v2 shows "<quota> <period>", v1 the quota alone (period 100000 µs either way).
SCRIPT = (
    "cat /sys/fs/cgroup/cpu.max 2>/dev/null || cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us\n"
    "sleep 2\n"
    "echo done\n"
)


@pytest.fixture(params=ENGINE_NAMES)
def docker_client(request):
    """The clamp runs on both image stores (tests/support/engines.py): the nested engine
    reports its own CPU count, which must be what the clamp reads."""
    return engine_client(request)


def test_a_share_within_the_host_passes_through_unchanged():
    failures, tried = doctest.testmod(cpus)
    assert tried > 0
    assert failures == 0


def _nano_cpus_while_running(docker_client, name: str, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = docker_client.containers.list(filters={"name": f"^/{name}$"})
        if found:
            return int(docker_client.api.inspect_container(found[0].id)["HostConfig"]["NanoCpus"])
        time.sleep(0.05)
    raise AssertionError(f"container {name} never ran")


@pytest.mark.docker
def test_more_cpus_than_the_host_has_are_clamped_to_its_cpu_count(docker_client, tmp_path):
    host_cpus = int(docker_client.info()["NCPU"])
    settings = WorkerSettings(
        data_root=tmp_path / "data",
        run_cpus=host_cpus + 2,
        run_pids=64,
        output_bytes=4 * MIB,
        tmp_bytes=4 * MIB,
    )
    runner = DockerRunner(client_factory=lambda: docker_client)
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    spec = RunSpec(
        name=f"podium-sub-cpus{uuid.uuid4().hex[:8]}-1",
        image=runner.present_image(shell_image(docker_client, SCRIPT)),
        input_dir=tmp_path / "in",
        output_dir=tmp_path / "out",
        limits=settings.limits(time_limit_s=30, memory_limit_mb=64),
    )
    assert spec.limits.cpus == host_cpus + 2
    results = []
    with capture_logs() as logs:
        thread = threading.Thread(target=lambda: results.append(runner.run(spec)))
        thread.start()
        nano_cpus = _nano_cpus_while_running(docker_client, spec.name)
        thread.join(60)

    assert nano_cpus == host_cpus * 10**9
    (result,) = results
    assert result.failure(spec.limits) is None, result.log
    quota = result.log.split()[0]
    assert quota == str(host_cpus * 100_000), result.log
    assert result.log.rstrip().endswith("done")
    clamped = [e for e in logs if e["event"] == "runner.cpus_clamped"]
    assert clamped
    assert clamped[0]["requested_cpus"] == host_cpus + 2
    assert clamped[0]["host_cpus"] == host_cpus
