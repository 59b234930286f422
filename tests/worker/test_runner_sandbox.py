"""Hostile and well-behaved containers in the real sandbox: each contained and classified.

Every test runs a busybox script as a submission would run (non-root, no
network, read-only root, capped /output) with small limits, then checks the
outcome class, the message and that nothing of the run is left on the engine.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import replace

import pytest

from tests.support.engines import ENGINE_NAMES, engine_client
from tests.support.images import build_image
from tests.support.sandbox import TEST_LIMITS
from worker.runner.base import RunSpec

pytestmark = pytest.mark.docker


@pytest.fixture(params=ENGINE_NAMES)
def docker_client(request):
    """Every test here runs on both image stores (tests/support/engines.py)."""
    return engine_client(request)


def _leftovers(docker_client, name: str) -> list[str]:
    containers = docker_client.containers.list(all=True, filters={"name": name})
    volumes = docker_client.volumes.list(filters={"name": name})
    return [c.name for c in containers] + [v.name for v in volumes]


def test_well_behaved_container_outputs_are_copied_out(run_script, docker_client):
    run = run_script(
        'for f in /input/*.nii.gz; do cp "$f" /output/$(basename "$f"); done; echo ok',
        inputs={"case_a.nii.gz": b"AAAA", "case_b.nii.gz": b"BB"},
    )
    assert run.result.failure(TEST_LIMITS) is None
    assert run.result.exit_code == 0
    assert run.result.log == "ok\n"
    assert sorted(p.name for p in run.output_dir.iterdir()) == ["case_a.nii.gz", "case_b.nii.gz"]
    assert (run.output_dir / "case_a.nii.gz").read_bytes() == b"AAAA"
    assert _leftovers(docker_client, run.name) == []


def test_network_connections_fail(run_script):
    # Loopback is the container's own (nothing listens there); the host's
    # PostgreSQL/Redis on 127.0.0.1 and a public address must be unreachable.
    run = run_script(
        "exec 2>&1\n"
        "ip -o link | cut -d: -f2\n"
        "nc -w 2 127.0.0.1 55432 </dev/null && echo REACHED-HOST-POSTGRES\n"
        "nc -w 2 127.0.0.1 56379 </dev/null && echo REACHED-HOST-REDIS\n"
        "nc -w 2 1.1.1.1 80 </dev/null && echo REACHED-INTERNET\n"
        "nc -w 2 8.8.8.8 53 </dev/null && echo REACHED-DNS\n"
        "echo done"
    )
    assert "REACHED" not in run.result.log
    assert run.result.log.split()[0] == "lo"  # the only interface
    assert "Network is unreachable" in run.result.log
    assert run.result.log.rstrip().endswith("done")


def test_label_files_are_not_visible(run_script, tmp_path):
    # A canary in the worker's own label folder: the container must not find it
    # by name, by its host path, or by its content.
    labels = tmp_path / "labels"
    labels.mkdir()
    canary = labels / f"canary-{uuid.uuid4().hex}.nii.gz"
    canary.write_text("PODIUM-LABEL-CANARY")
    run = run_script(
        "find / -name 'canary-*' 2>/dev/null | sed 's/^/FOUND:/'\n"
        f"cat {canary} >/dev/null 2>&1 && echo READ-CANARY\n"
        "grep -rl --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev"
        " 'PODIUM-LABEL-''CANARY' / 2>/dev/null | sed 's/^/GREP:/'\n"
        "ls /input\n"
        "echo searched",
        inputs={"case_a.nii.gz": b"input"},
    )
    assert run.result.log == "case_a.nii.gz\nsearched\n"


def test_symlink_to_a_host_file_is_not_followed(run_script):
    run = run_script(
        "ln -s /etc/passwd /output/case_a.nii.gz; ln /etc/passwd /output/case_b.nii.gz 2>&1;"
        " mkdir /output/sub; echo x > /output/sub/case_c.nii.gz; mkfifo /output/case_d.nii.gz"
    )
    assert list(run.output_dir.iterdir()) == []
    notes = " ".join(run.result.output_notes)
    assert "case_a.nii.gz was ignored: it is a symbolic link (to '/etc/passwd')" in notes
    assert "sub was ignored: it is a directory" in notes
    assert "case_d.nii.gz was ignored: it is a named pipe" in notes


def test_fork_bomb_is_stopped_by_the_pids_limit(run_script, docker_client):
    run = run_script("b() { b | b & }; b; sleep 30", limits=replace(TEST_LIMITS, wall_seconds=3))
    failure = run.result.failure(TEST_LIMITS)
    assert failure is not None
    # Whether the shell itself still gets to fork its `sleep` once the pids are
    # spent is a race: it then either sleeps into the time limit or exits on
    # "can't fork". Both are the container's fault and both are contained.
    assert failure.kind in {"timeout", "nonzero_exit"}
    assert "can't fork" in run.result.log
    assert f"at most {TEST_LIMITS.pids} processes and threads together" in failure.message
    assert run.result.duration_s < 15
    assert _leftovers(docker_client, run.name) == []
    # The engine and the next submission are unaffected.
    after = run_script("echo fine")
    assert after.result.failure(TEST_LIMITS) is None
    assert after.result.log == "fine\n"


def test_memory_beyond_the_limit_is_out_of_memory(run_script):
    # busybox tail keeps a whole "line" of /dev/zero (no newline) in memory. The engine
    # records the cgroup's OOM event asynchronously: under load a container that exits at
    # once can be inspected before it has, so this one lingers a second.
    run = run_script("head -c 300m /dev/zero | tail; echo survived=$?; sleep 1")
    assert run.result.oom_killed
    failure = run.result.failure(TEST_LIMITS)
    assert failure is not None
    assert failure.kind == "out_of_memory"
    assert "64 MiB" in failure.message
    after = run_script("echo fine")
    assert after.result.log == "fine\n"


def test_output_beyond_the_cap_fails_inside_the_container(run_script):
    run = run_script(
        "dd if=/dev/zero of=/output/case_a.nii.gz bs=1M count=50 2>&1; echo dd=$?; df -k /output"
    )
    assert "No space left on device" in run.result.log
    assert "dd=1" in run.result.log
    copied = run.output_dir / "case_a.nii.gz"
    assert copied.stat().st_size <= TEST_LIMITS.output_bytes


def test_sleeping_past_the_time_limit_is_a_timeout(run_script):
    run = run_script("echo start; sleep 60", limits=replace(TEST_LIMITS, wall_seconds=2))
    assert run.result.timed_out
    assert 2 <= run.result.duration_s < 10
    failure = run.result.failure(replace(TEST_LIMITS, wall_seconds=2))
    assert failure is not None
    assert failure.kind == "timeout"
    assert "time limit of 2 s" in failure.message
    assert run.result.log == "start\n"


def test_stdout_flood_keeps_head_and_tail(run_script):
    # 20 MB through the engine's log stream takes seconds on a busy 2-CPU machine; this
    # test is about what is kept of the log, so it gets room beyond the usual 5 s.
    run = run_script(
        "echo first-line; yes 0123456789abcdef | head -c 20000000; echo last-line",
        limits=replace(TEST_LIMITS, wall_seconds=60),
    )
    result = run.result
    assert result.exit_code == 0
    assert result.log_bytes == len("first-line\n") + 20_000_000 + len("last-line\n")
    assert result.log.startswith("first-line\n")
    assert result.log.endswith("last-line\n")
    assert "bytes omitted" in result.log
    assert len(result.log) < TEST_LIMITS.log_head_bytes + TEST_LIMITS.log_tail_bytes + 100


def test_nonzero_exit_is_reported_with_the_log(run_script):
    run = run_script("echo 'model weights not found' >&2; exit 3")
    failure = run.result.failure(TEST_LIMITS)
    assert failure is not None
    assert failure.kind == "nonzero_exit"
    assert "exited with code 3" in failure.message
    assert "model weights not found" in run.result.log


def test_read_only_root_and_small_tmp(run_script):
    run = run_script(
        "touch /evil 2>&1; touch /input/evil 2>&1; echo x > /tmp/ok && echo tmp-writable;"
        " dd if=/dev/zero of=/tmp/fill bs=1M count=50 2>&1 | tail -n 3"
    )
    log = run.result.log
    assert "touch: /evil: Read-only file system" in log
    assert "touch: /input/evil: Read-only file system" in log
    assert "tmp-writable" in log
    assert "No space left on device" in log


def test_a_flood_of_output_entries_is_cut_short(run_script):
    run = run_script("i=0; while [ $i -lt 10100 ]; do : > /output/f$i; i=$((i+1)); done; echo made")
    assert run.result.log == "made\n"
    notes = run.result.output_notes
    assert notes[-1] == "/output holds more than 10000 entries; the rest were not read."
    assert len(list(run.output_dir.iterdir())) <= 10_000


def test_an_image_volume_gets_a_capped_tmpfs_not_host_disk(docker_client, runner, tmp_path):
    reference = build_image(
        docker_client,
        files={"/run.sh": "dd if=/dev/zero of=/data/fill bs=1M count=50 2>&1; df -k /data"},
        entrypoint=["/bin/sh", "/run.sh"],
        volumes=["/data", "/output"],
    )
    image = runner.present_image(reference)
    assert image.volumes == ("/data", "/output")
    (tmp_path / "in").mkdir()
    (tmp_path / "out").mkdir()
    name = f"podium-sub-vol{uuid.uuid4().hex[:8]}-1"
    spec = RunSpec(
        name=name, image=image, input_dir=tmp_path / "in", output_dir=tmp_path / "out",
        limits=TEST_LIMITS,
    )  # fmt: skip
    before = {v.name for v in docker_client.volumes.list()}
    result = runner.run(spec)
    assert "No space left on device" in result.log
    assert re.search(r"tmpfs +4096 +4096 +0 +100% /data", result.log)
    # No anonymous volume (64 hex digits) nor this run's own left; other runs on a shared
    # engine may come and go meanwhile.
    left = {v.name for v in docker_client.volumes.list()} - before
    assert not [v for v in left if re.fullmatch(r"[0-9a-f]{64}", v) or v.startswith(name)]
