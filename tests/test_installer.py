"""The installer's decisions (scripts/lib/install.sh), through ``scripts/demo --setup``.

The script runs on a PATH of its own: stubs of ``docker``, ``dockerd``, ``apt-get``, ``id`` and
``gcc`` that record how they were called (``apt-get install`` "installs" by adding the stubs
a package brings), plus links to the few real tools the script uses. So the test sees what
the demo would install and start on a machine with no engine, as root and as another user,
without touching the machine; ``scripts/test`` exercises the real installation.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_env

REPO = Path(__file__).resolve().parents[1]
REAL_TOOLS = [
    "bash",
    "cat",
    "chmod",
    "dirname",
    "mkdir",
    "nohup",
    "rm",
    "sed",
    "seq",
    "sleep",
    "tail",
]
EVERYTHING = ["docker.io", "gcc", "zlib1g-dev", "docker-registry"]
#: What a machine without any of it is asked to install, in the installer's order.
ALL = "docker.io gcc libc6-dev zlib1g-dev docker-registry"
#: What each stubbed Debian package puts on PATH (the stub bodies are below).
BRINGS = {
    "docker.io": ["docker", "dockerd"],
    "gcc": ["gcc"],
    "zlib1g-dev": [],
    "docker-registry": ["docker-registry"],
}

STUBS = {
    "id": 'echo "$(cat {fake}/uid)"',
    "docker": 'echo "docker $*" >>{fake}/calls\n[ "$1" != info ] || [ -f {fake}/engine-up ]',
    "dockerd": 'echo "dockerd $*" >>{fake}/calls\n{touch} {fake}/engine-up',
    "gcc": 'case "$*" in -print-file-name=libz.a) echo {fake}/libz.a ;; esac',
    "docker-registry": 'echo "docker-registry $*" >>{fake}/calls',
    "apt-get": 'echo "apt-get $*" >>{fake}/calls\n'
    '[ ! -f {fake}/apt-fails ] || {{ echo "E: Unable to locate package"; exit 100; }}\n'
    '[ "$1" = install ] || exit 0\n'
    'for p in "$@"; do case $p in\n'
    "  docker.io) {cp} {fake}/stubs/docker {fake}/stubs/dockerd {fake}/bin/ ;;\n"
    "  gcc) {cp} {fake}/stubs/gcc {fake}/bin/ ;;\n"
    "  docker-registry) {cp} {fake}/stubs/docker-registry {fake}/bin/ ;;\n"
    "  zlib1g-dev) {touch} {fake}/libz.a ;;\n"
    "esac; done",
}


@dataclass
class Machine:
    """A fake machine: its PATH, what it has, and what was asked of it."""

    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    def install(self, *packages: str) -> None:
        for package in packages:
            for tool in BRINGS[package]:
                shutil.copy(self.root / "stubs" / tool, self.bin / tool)
            if package == "zlib1g-dev":
                (self.root / "libz.a").touch()

    def engine_up(self) -> None:
        (self.root / "engine-up").touch()

    def calls(self) -> list[str]:
        log = self.root / "calls"
        return log.read_text().splitlines() if log.exists() else []

    def demo(self, *args: str, uid: int, **env: str) -> subprocess.CompletedProcess[str]:
        (self.root / "uid").write_text(str(uid))
        environment = {
            "PATH": str(self.bin),
            "HOME": str(self.root),
            "PODIUM_DEMO_STATE": str(self.root / "state"),
            "PODIUM_DOCKERD_PIDFILE": str(self.root / "docker.pid"),
            "PODIUM_DATA_ROOT": str(self.root / "podium"),
            # The installer's policy-rc.d (no service starts while installing) goes here.
            "PODIUM_INSTALL_ROOT": str(self.root / "sysroot"),
            **env,
        }
        return subprocess.run(
            [str(REPO / "scripts" / "demo"), *args],
            cwd=REPO,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    """No engine, no compiler: only bash, coreutils, python3 and apt-get."""
    fake = Machine(tmp_path)
    fake.bin.mkdir()
    (tmp_path / "stubs").mkdir()
    (tmp_path / "sysroot" / "usr" / "sbin").mkdir(parents=True)
    for tool in REAL_TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (fake.bin / tool).symlink_to(found)
    (fake.bin / "python3").symlink_to(sys.executable)
    for name, body in STUBS.items():
        stub = tmp_path / "stubs" / name
        text = body.format(fake=tmp_path, cp=shutil.which("cp"), touch=shutil.which("touch"))
        stub.write_text(f"#!/bin/bash\n{text}\n")
        stub.chmod(0o755)
    for name in ("id", "apt-get"):
        shutil.copy(tmp_path / "stubs" / name, fake.bin / name)
    return fake


def test_as_root_it_installs_the_engine_and_the_compiler_then_starts_the_engine(
    machine: Machine,
) -> None:
    result = machine.demo("--setup", uid=0)
    assert result.returncode == 0, result.stderr
    calls = machine.calls()
    assert [c for c in calls if not c.startswith("docker ")] == [
        "apt-get update -qq",
        f"apt-get install -y -qq --no-install-recommends {ALL}",
        "dockerd ",
    ]
    assert calls[-1] == "docker info"  # it waited for the engine to answer
    assert f"[demo] installing {ALL}" in result.stderr
    # The registry package's own service was kept from starting, and the guard removed after.
    assert not (machine.root / "sysroot" / "usr" / "sbin" / "policy-rc.d").exists()
    assert "[demo] starting dockerd" in result.stderr
    assert "this machine has what the demo needs" in result.stdout
    assert not (machine.root / "podium").exists()  # --setup stops before the demo itself


@pytest.mark.parametrize("env", [{}, {"PODIUM_NO_INSTALL": "1"}], ids=["user", "no-install"])
def test_otherwise_it_names_the_packages_and_the_command_and_changes_nothing(
    machine: Machine, env: dict[str, str]
) -> None:
    result = machine.demo(uid=0 if env else 1000, **env)
    assert result.returncode == 1
    assert f"Debian packages: {ALL}" in result.stderr
    assert (
        "run this once as root, then run scripts/demo again: "
        f"sudo apt-get install -y --no-install-recommends {ALL}"
    ) in result.stderr
    assert not any(call.startswith("apt-get") for call in machine.calls())
    assert not (machine.root / "podium").exists()
    assert not (machine.root / "state").exists()


def test_a_docker_client_without_an_engine_gets_the_engine(machine: Machine) -> None:
    # The machine of issue 18: a docker CLI on PATH, no engine, no compiler.
    shutil.copy(machine.root / "stubs" / "docker", machine.bin / "docker")
    result = machine.demo("--setup", uid=0)
    assert result.returncode == 0, result.stderr
    assert f"apt-get install -y -qq --no-install-recommends {ALL}" in machine.calls()
    assert "dockerd " in machine.calls()


def test_only_what_is_missing_is_installed(machine: Machine) -> None:
    machine.install("docker.io")
    machine.engine_up()
    result = machine.demo("--setup", uid=0)
    assert result.returncode == 0, result.stderr
    assert (
        "apt-get install -y -qq --no-install-recommends gcc libc6-dev zlib1g-dev docker-registry"
        in (machine.calls())
    )
    assert not any(call.startswith("dockerd") for call in machine.calls())
    assert "[demo] Docker engine answering" in result.stderr


def test_a_complete_machine_is_left_alone(machine: Machine) -> None:
    machine.install(*EVERYTHING)
    machine.engine_up()
    result = machine.demo("--setup", uid=1000)
    assert result.returncode == 0, result.stderr
    assert machine.calls() == ["docker info", "docker info"]


def test_an_installed_engine_is_started_as_root_and_explained_otherwise(machine: Machine) -> None:
    machine.install(*EVERYTHING)
    (machine.root / "docker.pid").write_text("999999999")  # left by a dockerd killed uncleanly
    as_user = machine.demo("--setup", uid=1000)
    assert as_user.returncode == 1
    assert "sudo systemctl start docker" in as_user.stderr
    assert "usermod -aG docker" in as_user.stderr
    assert not any(call.startswith("dockerd") for call in machine.calls())
    as_root = machine.demo("--setup", uid=0)
    assert as_root.returncode == 0, as_root.stderr
    assert "dockerd " in machine.calls()
    assert not (machine.root / "docker.pid").exists()  # the stale pid file went first
    assert not any(call.startswith("apt-get") for call in machine.calls())


def test_a_failed_apt_get_is_shown_and_stops(machine: Machine) -> None:
    (machine.root / "apt-fails").touch()
    result = machine.demo("--setup", uid=0)
    assert result.returncode == 1
    assert "E: Unable to locate package" in result.stderr  # the log's tail
    assert "'apt-get install -y --no-install-recommends docker.io" in result.stderr


def test_without_apt_get_it_says_to_install_by_hand(machine: Machine) -> None:
    (machine.bin / "apt-get").unlink()
    result = machine.demo(uid=0)
    assert result.returncode == 1
    assert "not Debian/Ubuntu: install them by hand" in result.stderr
    assert "the Docker engine" in result.stderr


def test_each_requirement_is_recognised_on_a_machine_that_has_it() -> None:
    # scripts/services installed all of these for the suite: a test that misreads an installed
    # package (pipefail on a failing ldd, a tool outside PATH) would reinstall it every run.
    require_env("PODIUM_TEST_POSTGRES_URL", "the machine scripts/services set up")
    names = subprocess.run(
        ["bash", "-c", '. scripts/lib/install.sh; printf "%s\\n" "${!_PODIUM_TEST[@]}"'],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert {"docker-engine", "gcc", "static-zlib", "busybox", "postgresql"} <= set(names)
    missing = subprocess.run(
        [
            "bash",
            "-c",
            "set -euo pipefail; . scripts/lib/install.sh; podium_missing " + " ".join(names),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert missing.stdout.split() == [], missing.stderr
