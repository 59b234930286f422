"""The engines under test are what they claim, and a tarball crosses between their image stores."""

from __future__ import annotations

import uuid

import pytest

from tests.support.engines import ENGINE_NAMES, engine_client, is_containerd_store
from tests.support.images import build_image, save_image, shell_image
from tests.support.sandbox import TEST_LIMITS
from worker.runner.base import RunSpec
from worker.runner.docker import DockerRunner

pytestmark = pytest.mark.docker

# cgroup v2 files first, then v1's (the container sees its own cgroup at the root).
LIMITS_SCRIPT = (
    "cat /sys/fs/cgroup/memory.max 2>/dev/null"
    " || cat /sys/fs/cgroup/memory/memory.limit_in_bytes\n"
    "cat /sys/fs/cgroup/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids/pids.max\n"
)


def test_the_nested_engine_is_docker_26_on_the_containerd_image_store(
    containerd_engine, host_docker
):
    info = containerd_engine.client.info()
    assert info["ServerVersion"].startswith("26."), info["ServerVersion"]
    assert is_containerd_store(containerd_engine.client)
    assert not is_containerd_store(host_docker)
    assert containerd_engine.address.startswith("unix://")
    # The nested engine reports the host's CPUs, which the runner's clamp reads.
    assert info["NCPU"] == host_docker.info()["NCPU"]


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_memory_and_pids_limits_sit_in_the_containers_own_cgroup(engine, request, tmp_path):
    client = engine_client(request, engine)
    runner = DockerRunner(client_factory=lambda: client)
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    result = runner.run(
        RunSpec(
            name=f"podium-sub-cgroup{uuid.uuid4().hex[:8]}-1",
            image=runner.present_image(shell_image(client, LIMITS_SCRIPT)),
            input_dir=tmp_path / "in",
            output_dir=tmp_path / "out",
            limits=TEST_LIMITS,
        )
    )
    assert result.log.split() == [str(TEST_LIMITS.memory_bytes), str(TEST_LIMITS.pids)]


@pytest.mark.parametrize(
    ("saved_on", "loaded_on"), [("classic", "containerd"), ("containerd", "classic")]
)
def test_a_tarball_saved_by_one_image_store_is_recognised_by_the_other(
    saved_on, loaded_on, host_docker, containerd_engine, tmp_path
):
    engines = {"classic": host_docker, "containerd": containerd_engine.client}
    source, target = engines[saved_on], engines[loaded_on]
    reference = build_image(
        source,
        files={"/marker": uuid.uuid4().hex},
        entrypoint=["/bin/sh", "-c", "echo from-$0 > /output/case_a.nii.gz", saved_on],
    )
    tarball = tmp_path / "image.tar"
    config_digest = save_image(source, reference, tarball)  # what the API records
    source.images.remove(reference)
    runner = DockerRunner(client_factory=lambda: target)
    image = runner.load_image(tarball, expected_id=config_digest)
    try:
        assert image.loaded
        (tmp_path / "in").mkdir()
        (tmp_path / "out").mkdir()
        result = runner.run(
            RunSpec(
                name=f"podium-sub-cross{uuid.uuid4().hex[:8]}-1",
                image=image,
                input_dir=tmp_path / "in",
                output_dir=tmp_path / "out",
                limits=TEST_LIMITS,
            )
        )
        assert result.exit_code == 0, result.log
        assert (tmp_path / "out" / "case_a.nii.gz").read_text() == f"from-{saved_on}\n"
    finally:
        runner.remove_image(image)
