"""The Docker engines the runner is tested on: the host's, and a nested containerd-store one.

* ``classic``: the host's engine (Debian bookworm's ``docker.io`` 20.10,
  overlay2): image IDs are config digests.
* ``containerd``: Debian trixie's ``docker.io`` 26 with
  ``{"features": {"containerd-snapshotter": true}}``, the image store Docker 29
  enables by default on new installs: image IDs are manifest digests. It runs
  as a docker-in-docker container made from a debootstrapped trixie root
  (``scripts/base-images``; nothing is pulled), started once per test session;
  its image is cached in the host's engine between sessions.

Use the ``containerd_engine`` fixture for the nested engine alone, or give a
test module both engines by overriding ``docker_client`` there::

    @pytest.fixture(params=ENGINE_NAMES)
    def docker_client(request):
        return engine_client(request)

Everything a nested container bind-mounts from the host must exist at the same
path inside the nested engine's container: the session's pytest folder (where
``tmp_path`` lives) is mounted there at its own path. The nested engine shares
the host's network namespace, so it pulls from the session's registry on
``127.0.0.1`` as the host's engine does; its default bridge is one of its own
(:func:`_own_bridge`), never the host engine's ``docker0``.

The nested engine's container is privileged when the host's capability
bounding set is complete (the usual docker-in-docker); where it is not (this
project's VMs lack ``CAP_SYS_RESOURCE``, and an engine refuses a privileged
container it cannot give every capability), it gets every capability the host
has, no seccomp/AppArmor profile, every device, and its
entrypoint remounts ``/sys`` and the cgroup file systems writable: the same
powers, less the missing capability (and with /proc/sys read-only).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import docker.types
import pytest

from tests.support.base_images import base_image
from worker.runner.imagestore import ImageStore

ENGINE_NAMES = ("classic", "containerd")
DIND_SUITE = "trixie"
DIND_PACKAGES = ("docker.io",)
DIND_REPOSITORY = "podium-test/dind"
_SOCKET_DIR = "/run/podium-dind"
_LABEL = "podium.test.dind"
_BRIDGE_LABEL = "podium.test.dind.bridge"

_DAEMON_JSON = {"features": {"containerd-snapshotter": True}}

_ENTRYPOINT = f"""#!/bin/sh
# The nested engine: writable /sys and cgroups, nested cgroup v2, then dockerd.
set -eu
mount -o remount,rw /sys 2>/dev/null || true
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
  # cgroup v2: a cgroup cannot both hold processes and hand controllers to its
  # children, so this container's processes move into a leaf first.
  mount -o remount,rw /sys/fs/cgroup 2>/dev/null || true
  mkdir -p /sys/fs/cgroup/init
  xargs -rn1 </sys/fs/cgroup/cgroup.procs >/sys/fs/cgroup/init/cgroup.procs 2>/dev/null || true
  sed -e 's/ / +/g' -e 's/^/+/' </sys/fs/cgroup/cgroup.controllers \\
    >/sys/fs/cgroup/cgroup.subtree_control
else
  # cgroup v1: each hierarchy is a read-only bind mount of this container's cgroup.
  for hierarchy in /sys/fs/cgroup/*; do
    if mountpoint -q "$hierarchy"; then mount -o remount,bind,rw "$hierarchy"; fi
  done
fi
# Its own bridge, made by the test session: "--bridge=none" in the host's network namespace
# would delete the host engine's docker0 (dockerd removes the default bridge it disables).
exec dockerd --host=unix://{_SOCKET_DIR}/docker.sock --bridge="$PODIUM_DIND_BRIDGE" \\
  --iptables=false --ip6tables=false
"""

#: Capability numbers -> the names an engine accepts in ``cap_add`` (20.10 knows up to 37).
_CAPABILITIES = (
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
)


@dataclass(frozen=True, slots=True)
class Engine:
    """A Docker engine under test: its name, an SDK client and the address it answers on."""

    name: str
    client: Any
    address: str


def held_capabilities() -> list[str]:
    """The capabilities (of :data:`_CAPABILITIES`) in this process's bounding set."""
    status = Path("/proc/self/status").read_text()
    bounding = int(next(ln.split()[1] for ln in status.splitlines() if ln.startswith("CapBnd")), 16)
    return [name for bit, name in enumerate(_CAPABILITIES) if bounding >> bit & 1]


def dind_image(client: Any) -> str:
    """The nested engine's image (trixie + docker.io + entrypoint), built once per machine."""
    base = base_image(DIND_SUITE, DIND_PACKAGES)
    daemon = json.dumps(_DAEMON_JSON, indent=2) + "\n"
    dockerfile = (
        f"FROM {base}\n"
        "COPY daemon.json /etc/docker/daemon.json\n"
        "COPY entrypoint.sh /usr/local/bin/podium-dind\n"
        'ENTRYPOINT ["/bin/sh", "/usr/local/bin/podium-dind"]\n'
    )
    digest = hashlib.sha256("\0".join((dockerfile, daemon, _ENTRYPOINT)).encode()).hexdigest()
    reference = f"{DIND_REPOSITORY}:{digest[:16]}"
    with contextlib.suppress(Exception):
        client.images.get(reference)
        return reference
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for name, text in (
            ("Dockerfile", dockerfile),
            ("daemon.json", daemon),
            ("entrypoint.sh", _ENTRYPOINT),
        ):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    client.images.build(
        fileobj=context, custom_context=True, tag=reference, pull=False, rm=True, forcerm=True
    )
    return reference


def _own_bridge(name: str) -> None:
    """Make the Linux bridge ``name`` for one nested engine (a /24 of 10.213/16 by its name)."""
    subnet = zlib.crc32(name.encode()) % 250 + 1
    for command in (
        ["ip", "link", "add", name, "type", "bridge"],
        ["ip", "addr", "add", f"10.213.{subnet}.1/24", "dev", name],
        ["ip", "link", "set", name, "up"],
    ):
        subprocess.run(command, check=True, capture_output=True)


def _drop_bridge(name: str) -> None:
    subprocess.run(["ip", "link", "delete", name], check=False, capture_output=True)


def _remove_stale(client: Any) -> None:
    """Remove nested engines (and their bridges) left by test sessions that are gone."""
    for container in client.containers.list(all=True, filters={"label": _LABEL}):
        pid = int(container.labels.get(_LABEL, "0") or 0)
        alive = True
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            alive = False
        except PermissionError:
            pass
        if not alive:
            with contextlib.suppress(Exception):
                container.remove(force=True, v=True)
            if bridge := container.labels.get(_BRIDGE_LABEL):
                _drop_bridge(bridge)


@contextlib.contextmanager
def nested_engine(host: Any, *, shared: list[Path], timeout_s: float = 90) -> Iterator[Engine]:
    """Start the containerd-store engine in a container of ``host``; removed on exit.

    Parameters
    ----------
    host
        SDK client of the host's engine.
    shared
        Host folders mounted at the same path inside (bind mounts of nested
        containers name host paths).
    timeout_s
        How long the nested engine may take to answer.
    """
    _remove_stale(host)
    image = dind_image(host)
    sockets = Path(tempfile.mkdtemp(prefix="podium-dind-"))
    capabilities = held_capabilities()
    powers: dict[str, Any]
    if len(capabilities) == len(_CAPABILITIES):
        powers = {"privileged": True}
    else:
        powers = {
            "cap_add": capabilities,
            "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
            "device_cgroup_rules": ["a *:* rwm"],
        }
    suffix = sockets.name.rsplit("-", 1)[-1]
    bridge = f"pdind{zlib.crc32(f'{os.getpid()}-{suffix}'.encode()):08x}"[:15]
    try:
        _own_bridge(bridge)
        container = host.containers.run(
            image,
            name=f"podium-test-dind-{os.getpid()}-{suffix}",
            detach=True,
            cgroupns="private",
            network_mode="host",
            environment={"PODIUM_DIND_BRIDGE": bridge},
            labels={_LABEL: str(os.getpid()), _BRIDGE_LABEL: bridge},
            mounts=[
                docker.types.Mount(_SOCKET_DIR, str(sockets), type="bind"),
                # Not on the container's own overlay (overlay on overlay fails): an
                # anonymous volume, removed with the container.
                docker.types.Mount("/var/lib/docker", None, type="volume"),
                *(docker.types.Mount(str(p), str(p), type="bind") for p in shared),
            ],
            **powers,
        )
    except BaseException:
        shutil.rmtree(sockets, ignore_errors=True)
        _drop_bridge(bridge)
        raise
    address = f"unix://{sockets}/docker.sock"
    client = None
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            container.reload()
            if container.status not in {"created", "running"}:
                raise RuntimeError(
                    f"the nested engine stopped ({container.status}):\n"
                    + container.logs(tail=30).decode(errors="replace")
                )
            if (sockets / "docker.sock").exists():
                with contextlib.suppress(Exception):
                    client = docker.DockerClient(base_url=address, timeout=120)
                    client.ping()
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the nested engine did not answer within {timeout_s:g} s:\n"
                    + container.logs(tail=30).decode(errors="replace")
                )
            time.sleep(0.25)
        yield Engine(name="containerd", client=client, address=address)
    finally:
        if client is not None:
            client.close()
        with contextlib.suppress(Exception):
            container.remove(force=True, v=True)
        shutil.rmtree(sockets, ignore_errors=True)
        _drop_bridge(bridge)


def copy_image(source: Any, destination: Any, reference: str) -> None:
    """Copy an image between engines (``docker save | docker load``) unless it is there."""
    with contextlib.suppress(Exception):
        destination.images.get(reference)
        return
    stream = source.images.get(reference).save(named=True)
    destination.images.load(b"".join(stream))


@pytest.fixture(scope="session")
def containerd_engine(host_docker: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The nested Docker 26 engine on the containerd image store (one per session)."""
    try:
        with nested_engine(host_docker, shared=[tmp_path_factory.getbasetemp()]) as engine:
            yield engine
    except RuntimeError as exc:
        if os.environ.get("PODIUM_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(f"the containerd-store engine did not start: {exc}")
        pytest.skip(f"the containerd-store engine did not start: {exc}")


def is_containerd_store(client: Any) -> bool:
    """Whether ``client``'s engine keeps images in the containerd store (the runner's own test)."""
    return ImageStore(client.info).containerd()


def engine_client(request: pytest.FixtureRequest, name: str | None = None) -> Any:
    """The SDK client of the engine ``name`` (default: ``request.param``; :data:`ENGINE_NAMES`)."""
    if (name or request.param) == "classic":
        return request.getfixturevalue("host_docker")
    return request.getfixturevalue("containerd_engine").client
