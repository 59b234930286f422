"""The run contract in the real sandbox, on both engines: arguments, /dev/shm, root images."""

from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from backend.challenges.contract import RunContract
from backend.storage import FilesystemStorage
from tests.support.engines import ENGINE_NAMES, engine_client
from tests.support.images import build_image
from tests.support.sandbox import TEST_LIMITS
from worker.pipeline import run_cases
from worker.runner.base import MIB, ImageRef, RunResult, RunSpec, SubmissionFailure

pytestmark = pytest.mark.docker

ECHO_ARGS = 'echo "$@"'


@pytest.fixture(params=ENGINE_NAMES)
def docker_client(request):
    """Every test here runs on both image stores (tests/support/engines.py)."""
    return engine_client(request)


def _run(runner, image: ImageRef, tmp_path, **spec) -> RunResult:
    name = f"podium-sub-contract{uuid.uuid4().hex[:8]}-1"
    (tmp_path / name / "in").mkdir(parents=True)
    (tmp_path / name / "out").mkdir()
    return runner.run(
        RunSpec(
            name=name,
            image=image,
            input_dir=tmp_path / name / "in",
            output_dir=tmp_path / name / "out",
            limits=spec.pop("limits", TEST_LIMITS),
            **spec,
        )
    )


def test_arguments_follow_the_entrypoint_and_replace_cmd(docker_client, runner, tmp_path):
    reference = build_image(
        docker_client,
        files={"/run.sh": ECHO_ARGS},
        entrypoint=["/bin/sh", "/run.sh"],
        cmd=["from-cmd"],
    )
    image = runner.present_image(reference)
    assert _run(runner, image, tmp_path).log == "from-cmd\n"  # no arguments: the image's own
    result = _run(runner, image, tmp_path, args=("/input/cases.csv", "/input", "/output"))
    assert result.log == "/input/cases.csv /input /output\n"


def test_arguments_follow_cmd_when_there_is_no_entrypoint(docker_client, runner, tmp_path):
    reference = build_image(
        docker_client, files={"/run.sh": ECHO_ARGS}, cmd=["/bin/sh", "/run.sh", "from-cmd"]
    )
    result = _run(runner, runner.present_image(reference), tmp_path, args=("/input",))
    assert result.log == "from-cmd /input\n"


def test_dev_shm_has_the_contracts_size(docker_client, runner, tmp_path):
    reference = build_image(
        docker_client,
        files={
            "/run.sh": "df -k /dev/shm | tail -n 1\n"
            "dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 2>&1; echo dd=$?"
        },
        entrypoint=["/bin/sh", "/run.sh"],
    )
    result = _run(runner, runner.present_image(reference), tmp_path, shm_bytes=32 * MIB)
    size_kib = result.log.split()[1]
    assert size_kib == str(32 * 1024), result.log
    assert "No space left on device" in result.log
    assert "dd=1" in result.log


def test_dev_shm_counts_in_the_memory_limit(docker_client, runner, tmp_path):
    # A /dev/shm larger than the memory limit (the API refuses that; here the
    # runner is asked directly): filling it is stopped by the memory limit,
    # because tmpfs pages are charged to the container's memory cgroup.
    reference = build_image(
        docker_client,
        # (The last second gives the engine time to record the OOM event before the exit.)
        files={
            "/run.sh": (
                "dd if=/dev/zero of=/dev/shm/fill bs=1M count=200; wc -c </dev/shm/fill; sleep 1"
            )
        },
        entrypoint=["/bin/sh", "/run.sh"],
    )
    result = _run(
        runner,
        runner.present_image(reference),
        tmp_path,
        shm_bytes=256 * MIB,
        limits=replace(TEST_LIMITS, wall_seconds=20),
    )
    failure = result.failure(TEST_LIMITS)
    assert failure is not None, result.log
    assert failure.kind == "out_of_memory", (result.exit_code, result.log)
    assert result.oom_killed
    assert "Killed" in result.log  # dd, by the kernel's OOM killer
    # What dd wrote before it was killed, as `wc -c` printed it. The file's pages stay
    # charged to the container, so the OOM killer may take `wc` (or the shell) too before
    # it prints (CI run: the log ended at "Killed"); when it did print, it is under the limit.
    counts = [int(line) for line in result.log.split() if line.isdigit()]
    assert all(n < TEST_LIMITS.memory_bytes for n in counts), result.log


ROOT_SCRIPT = (
    "exec 2>&1\n"
    "id -u; id -g; id -G; echo HOME=$HOME\n"
    "grep -E '^(CapEff|NoNewPrivs):' /proc/self/status\n"
    "echo x > /output/case_a.nii.gz && echo output-writable\n"
    "echo x > /tmp/scratch && echo tmp-writable\n"
    "touch /root/.cache || echo root-home-refused\n"
    "touch /evil || echo rootfs-refused\n"
)


def test_a_root_image_runs_as_an_unprivileged_user_where_the_phase_allows(
    docker_client, runner, tmp_path
):
    reference = build_image(
        docker_client,
        files={"/run.sh": ROOT_SCRIPT, "/root/.keep": ""},
        entrypoint=["/bin/sh", "/run.sh"],
        user=None,  # no USER: root
    )
    with pytest.raises(SubmissionFailure, match="runs as root"):
        runner.present_image(reference)
    image = runner.present_image(reference, root_images="run_unprivileged")
    # Neither a user nor a group of the image (its passwd names 0 and 1000).
    assert (image.user, image.unprivileged) == ("20000:20000", True)
    result = _run(runner, image, tmp_path)
    lines = result.log.splitlines()
    assert lines[:4] == ["20000", "20000", "20000", "HOME=/tmp"], result.log
    assert "CapEff:\t0000000000000000" in lines
    assert "NoNewPrivs:\t1" in lines
    for expected in ("output-writable", "tmp-writable", "root-home-refused", "rootfs-refused"):
        assert expected in lines, result.log
    out = tmp_path.glob("podium-sub-contract*/out/case_a.nii.gz")
    assert [p.read_text() for p in out] == ["x\n"]


def test_a_permission_failure_of_a_root_image_says_it_ran_unprivileged(
    docker_client, runner, tmp_path
):
    reference = build_image(
        docker_client,
        files={"/run.sh": "mkdir -p /root/.cache/model || exit 3"},
        entrypoint=["/bin/sh", "/run.sh"],
        user="0",
    )
    image = runner.present_image(reference, root_images="run_unprivileged")
    with pytest.raises(SubmissionFailure) as caught:
        run_cases(
            runner=runner,
            image=image,
            storage=FilesystemStorage(tmp_path / "data"),
            cases=[],
            workdir=tmp_path / "work",
            name=f"podium-sub-perm{uuid.uuid4().hex[:8]}-1",
            limits=TEST_LIMITS,
            contract=RunContract(root_images="run_unprivileged"),
        )
    failure = caught.value
    assert failure.kind == "nonzero_exit"
    assert "exited with code 3" in failure.message
    assert "as an unprivileged user (uid:gid 20000:20000, HOME=/tmp)" in failure.message
    assert "Write only to /output" in failure.message
    assert "Permission denied" in failure.log or "Read-only file system" in failure.log
