"""A real docker-compose.yml stack for tests: images, ``.env``, commands, health, logs.

The images are built from the repository's Dockerfiles on the stand-in base
images of ``scripts/base-images compose`` (no registry here), and tagged by a
hash of what goes into them, so a second run on the same machine reuses them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[2]
#: What the API and worker images are built from (docker/Dockerfile.*).
IMAGE_INPUTS = (
    "pyproject.toml",
    "README.md",
    "alembic.ini",
    "docker",
    "migrations",
    "scoring",
    "backend",
    "worker",
    "frontend",
)
#: 127.0.0.1 ports the stacks publish the API on (PODIUM_TEST_COMPOSE_PORT and up).
FIRST_PORT = int(os.environ.get("PODIUM_TEST_COMPOSE_PORT", "5750"))


def compose_cli() -> list[str]:
    """``docker compose`` (the plugin) or Debian's ``docker-compose``; empty when neither."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else []


def base_images() -> dict[str, str]:
    """``PYTHON_IMAGE``, ``POSTGRES_IMAGE``, ``REDIS_IMAGE`` (built once per machine)."""
    result = subprocess.run(
        [str(REPO / "scripts" / "base-images"), "compose"],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"scripts/base-images compose failed:\n{result.stderr[-4000:]}")
    pairs = (line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    return dict(pairs)


def images_tag(python_image: str) -> str:
    """A tag naming the code and base the images hold (same inputs, same tag)."""
    digest = hashlib.sha256(python_image.encode())
    for name in IMAGE_INPUTS:
        root = REPO / name
        paths = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in paths:
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(REPO)).encode() + b"\0")
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return f"test-{digest.hexdigest()[:16]}"


def free_port(start: int = FIRST_PORT) -> int:
    """The first port from ``start`` that nothing listens on at 127.0.0.1."""
    for port in range(start, start + 50):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port in {start}..{start + 49}")


@dataclass
class Stack:
    """One compose project on this engine, driven as an organiser would drive it."""

    project: str
    env: dict[str, str]
    workdir: Path
    cli: list[str]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def data_root(self) -> Path:
        """The stack's data root (same path on the host and in the containers)."""
        return Path(self.env["PODIUM_DATA_ROOT"])

    @property
    def url(self) -> str:
        """The API's published address."""
        return f"http://127.0.0.1:{self.env['PODIUM_PORT']}"

    def _cli_env(self) -> dict[str, str]:
        # Only the stack's own settings: none of the developer's PODIUM_* leak in. A
        # busy shared engine can take over a minute to create a container.
        return {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.workdir),
            "COMPOSE_HTTP_TIMEOUT": "300",
        }

    def _env_file(self) -> Path:
        env_file = self.workdir / f"{self.project}.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in self.env.items()))
        return env_file

    def compose(
        self, *args: str, stdin: str | None = None, timeout: float = 600, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """``docker compose -p PROJECT --env-file ENV ARGS`` from the repository root."""
        env_file = self._env_file()
        result = subprocess.run(
            [*self.cli, "-p", self.project, "--env-file", str(env_file),
             "-f", str(REPO / "docker-compose.yml"), *args],
            cwd=REPO,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self._cli_env(),
            check=False,
        )  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(
                f"compose {' '.join(args)} failed ({result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result

    def containers(self, client: Any) -> dict[str, Any]:
        """Service name → container (running or not) of this project, from the engine."""
        found = client.containers.list(
            all=True, filters={"label": f"com.docker.compose.project={self.project}"}
        )
        return {
            c.labels["com.docker.compose.service"]: c
            for c in found
            if c.labels.get("com.docker.compose.oneoff") != "True"
        }

    def up(self, client: Any, *services: str, timeout: float = 600) -> dict[str, float]:
        """``up -d``, watching each service: seconds from its start to its first healthy probe."""
        env_file = self._env_file()
        process = subprocess.Popen(
            [*self.cli, "-p", self.project, "--env-file", str(env_file),
             "-f", str(REPO / "docker-compose.yml"), "up", "-d", *services],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=self._cli_env(),
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        healthy: dict[str, float] = {}
        while True:
            states = {}
            for service, container in self.containers(client).items():
                container.reload()
                state = container.attrs["State"]
                health = state.get("Health", {}).get("Status")
                states[service] = health
                if health == "healthy" and service not in healthy:
                    healthy[service] = time.time() - _epoch(state["StartedAt"])
                if health == "unhealthy":
                    logs = self.compose("logs", "--no-color", "--tail", "30", service).stdout
                    raise AssertionError(f"{self.project}/{service} is unhealthy:\n{logs}")
            done = process.poll() is not None
            if done and process.returncode != 0:
                raise AssertionError(f"compose up failed:\n{process.stdout.read()[-3000:]}")  # type: ignore[union-attr]
            if done and states and all(s == "healthy" for s in states.values()):
                return healthy
            if time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"{self.project}: not all healthy after {timeout}s: {states}")
            time.sleep(0.3)

    def log_lines(self, *services: str) -> list[str]:
        """The services' log lines without compose's prefix."""
        out = self.compose("logs", "--no-color", "--no-log-prefix", *services).stdout
        # docker-compose v1 heads its output with a line of its own ("Attaching to ...").
        return [
            line
            for line in out.splitlines()
            if line.strip() and not line.startswith("Attaching to ")
        ]

    def api(self) -> httpx.Client:
        """A client on the published port."""
        return httpx.Client(base_url=f"{self.url}/api/v1", timeout=120)


def _epoch(stamp: str) -> float:
    """Docker's RFC 3339 time with nanoseconds as seconds since the epoch."""
    from datetime import datetime  # noqa: PLC0415

    head, _, rest = stamp.partition(".")
    fraction = rest.rstrip("Z")[:6]
    return datetime.fromisoformat(f"{head}.{fraction or '0'}+00:00").timestamp()


def new_stack(*, cli: list[str], base: dict[str, str], tag: str, workdir: Path, name: str) -> Stack:
    """A stack with fresh secrets, its own data root (uid 10001) and a free port."""
    project = f"podiumci{uuid.uuid4().hex[:6]}{name}"
    port = free_port()
    registry_port = free_port(port + 1)  # nothing listens on port yet: start past it
    data_root = Path("/var/tmp") / f"{project}-data"
    data_root.mkdir(mode=0o755)
    os.chown(data_root, 10001, 10001)
    env = {
        **base,
        "PODIUM_VERSION": tag,
        "PODIUM_DATA_ROOT": str(data_root),
        "PODIUM_SECRET_KEY": uuid.uuid4().hex * 2,
        "POSTGRES_PASSWORD": uuid.uuid4().hex,
        # Exercised here though one host needs none: the broker URL carries it.
        "REDIS_PASSWORD": uuid.uuid4().hex,
        "DOCKER_GID": str(os.stat("/var/run/docker.sock").st_gid),
        "PODIUM_BIND": "127.0.0.1",
        "PODIUM_PORT": str(port),
        # Each stack's registry on a port of its own (two stacks run side by side here).
        "PODIUM_REGISTRY_PORT": str(registry_port),
        "PODIUM_REGISTRY_HOST": f"127.0.0.1:{registry_port}",
        "PODIUM_REGISTRY_REALM": f"http://127.0.0.1:{port}/api/v1/registry/token",
        # Two cores here: the engine refuses a larger CPU share than the machine has.
        "PODIUM_RUN_CPUS": "1",
        "PODIUM_HEARTBEAT_S": "2",
        "PODIUM_LOG_LEVEL": "INFO",
    }
    return Stack(project=project, env=env, workdir=workdir, cli=cli)


def parse_json_lines(lines: list[str]) -> list[dict[str, Any]]:
    """Each line as a JSON object; the first that is not one fails with its text."""
    records = []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AssertionError(f"not a JSON line: {line!r}") from exc
        assert isinstance(record, dict), line
        records.append(record)
    return records
