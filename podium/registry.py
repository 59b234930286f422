"""The demo's own registry: Debian's ``docker-registry`` with Podium as its token server.

Started by ``python -m podium.demo`` beside the API, configured by Podium
(:func:`backend.registry.registry_config.registry_config`), its storage under
the data root, listening on loopback (plain HTTP, which Docker allows for
127.0.0.0/8). Without the binary the demo runs without a registry: teams
upload tarballs, and the demo says which package to install.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from backend.config import Settings
from backend.registry.registry_config import registry_config, write_registry_config

BINARY = "docker-registry"
DEFAULT_PORT = 5000


class RegistryStartError(Exception):
    """The registry binary is there but did not start; the message says why."""


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _any_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class DemoRegistry:
    """A running registry process."""

    process: subprocess.Popen[bytes]
    address: str
    log: Path

    @property
    def url(self) -> str:
        """Its API."""
        return f"http://{self.address}"

    def stop(self) -> None:
        """Terminate it (its data stays under the data root)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def choose_port() -> int:
    """``PODIUM_REGISTRY_PORT``, else 5000 when free, else any free port."""
    wanted = os.environ.get("PODIUM_REGISTRY_PORT")
    if wanted:
        return int(wanted)
    return DEFAULT_PORT if _free(DEFAULT_PORT) else _any_port()


def configure_environment(*, port: int, base_url: str) -> None:
    """Point this process's settings at the demo registry (before settings are read)."""
    os.environ.setdefault("PODIUM_REGISTRY_URL", f"http://127.0.0.1:{port}")
    os.environ.setdefault("PODIUM_REGISTRY_REALM", f"{base_url}/api/v1/registry/token")
    os.environ.setdefault("PODIUM_REGISTRY_NOTIFY_URL", f"{base_url}/api/v1/registry/notifications")


def start(settings: Settings, *, root: Path) -> DemoRegistry | None:
    """Start the registry for ``settings``; ``None`` when the binary is not installed.

    Raises
    ------
    RegistryStartError
        It was found but did not answer (its log is named).
    """
    binary = shutil.which(BINARY)
    if binary is None or not settings.registry_url:
        return None
    address = settings.registry_url.split("://", 1)[-1].rstrip("/")
    folder = root / "registry"
    config_path = folder / "config.yml"
    write_registry_config(
        config_path,
        registry_config(settings, listen=address, storage_dir=folder / "storage"),
    )
    log = folder / "registry.log"
    with log.open("ab") as out:
        process = subprocess.Popen([binary, "serve", str(config_path)], stdout=out, stderr=out)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"http://{address}/v2/", timeout=1).status_code == 401:
                return DemoRegistry(process=process, address=address, log=log)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RegistryStartError(f"the registry on {address} did not start; see {log}")


def push_lines(*, base_url: str, token: str, phase_id: int, local_image: str) -> list[str]:
    """The ``docker login`` / ``docker push`` / ``podium-submit`` lines for one demo team."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        info = client.get(
            "/api/v1/registry",
            params={"phase": phase_id},
            headers={"Authorization": f"Bearer {token}"},
        ).json()
    if not info.get("enabled") or not info.get("namespaces"):
        return []
    target = f"{info['namespaces'][0]['prefix']}threshold:v2"
    return [
        f"Push instead of uploading (registry {info['address']}):",
        f"  docker login {info['address']} -u {info['username']} -p <team token>",
        f"  docker tag {local_image} {target}",
        f"  docker push {target}",
        f"  .venv/bin/podium-submit {target} --phase {phase_id} --url {base_url} "
        "--token <team token> --wait",
    ]
