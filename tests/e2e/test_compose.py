"""docker-compose.yml, .env.example and the Dockerfiles of a real deployment, statically.

The compose file is validated by the compose CLI itself (``docker compose`` when
the plugin is there, else Debian's ``docker-compose``), then its resolved form and
the raw file are checked for what docs/deployment.md promises; the Dockerfiles
are read (every COPY source exists and is in the build context, user and group
10001, health checks, the commands they run). The stack itself is started for
real by tests/e2e/test_compose_stack.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from backend.config import Settings
from worker.config import WorkerSettings

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DOCKERFILES = {
    "api": REPO / "docker" / "Dockerfile.api",
    "worker": REPO / "docker" / "Dockerfile.worker",
}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$")
FILLED = {
    "PODIUM_SECRET_KEY": "test-secret-key-long-and-random",
    "POSTGRES_PASSWORD": "test-db-password",
    "DOCKER_GID": "998",
    "PODIUM_DATA_ROOT": "/srv/podium-test",
}


def _compose_cli() -> list[str]:
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run(
            [docker, "compose", "version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    message = "no compose CLI: apt-get install docker-compose (or the docker compose plugin)"
    if os.environ.get("PODIUM_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _env_example() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def _compose_config(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env_file = tmp_path / "test.env"
    env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()), encoding="utf-8")
    # Only PATH and HOME from outside: a developer's exported POSTGRES_PASSWORD must
    # not make a missing one look present.
    return subprocess.run(
        [*_compose_cli(), "--env-file", str(env_file), "-f", str(COMPOSE_FILE), "config"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


@pytest.fixture
def resolved(tmp_path: Path) -> dict[str, Any]:
    result = _compose_config(tmp_path, {**_env_example(), **FILLED})
    assert result.returncode == 0, result.stderr
    document = yaml.safe_load(result.stdout)
    assert isinstance(document, dict)
    return document


def _volume_specs(service: dict[str, Any]) -> list[tuple[str, str]]:
    specs = []
    for volume in service.get("volumes", []):
        if isinstance(volume, str):
            source, _, rest = volume.partition(":")
            specs.append((source, rest.split(":")[0]))
        else:
            specs.append((str(volume.get("source")), str(volume.get("target"))))
    return specs


def test_compose_cli_accepts_the_file(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    assert {"postgres", "redis", "api", "worker-gpu0", "scheduler"} <= set(services)
    for name, service in services.items():
        assert service.get("restart") in {"unless-stopped", "always"}, name
    for name in ("postgres", "redis", "api"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    # Readiness (database and broker reachable), so dependants start on a usable API.
    assert "/readyz" in " ".join(services["api"]["healthcheck"]["test"])
    # The workers' image carries its own health check (celery inspect ping).
    assert services["worker-gpu0"].get("healthcheck", {}).get("disable") is not True
    # One beat for the periodic reaper, on the workers' queue, from the workers' image,
    # with a health check of its own (beat answers no `celery inspect ping`).
    scheduler = services["scheduler"]
    assert scheduler["image"] == services["worker-gpu0"]["image"]
    assert scheduler["command"][:5] == ["celery", "-A", "worker.celery_app", "--quiet", "beat"]
    assert scheduler["environment"]["PODIUM_WORKER_QUEUE"] == "evaluation"
    probe = scheduler["healthcheck"]["test"]
    assert probe[1:4] == ["python", "-m", "worker.health"]
    assert probe[4] == "scheduler"
    assert probe[5] in " ".join(scheduler["command"])  # the schedule file beat writes
    # Hosts without a local worker (two-host layout) run it too.
    assert set(scheduler["depends_on"]) == {"redis"}
    # Only the API and the registry are published, on loopback: TLS and the public face
    # are the proxy's (the workers' engine pulls from the registry on loopback).
    assert [n for n, svc in services.items() if svc.get("ports")] == ["api", "registry"]
    for name in ("api", "registry"):
        (port,) = services[name]["ports"]
        host_ip = port.get("host_ip") if isinstance(port, dict) else port.split(":")[0]
        assert host_ip == "127.0.0.1"
    assert ("registry-data", "/var/lib/registry") in _volume_specs(services["registry"])
    assert services["api"]["environment"]["PODIUM_REGISTRY_URL"] == "http://registry:5000"
    env = services["api"]["environment"]
    assert env["PODIUM_DATABASE_URL"] == (
        "postgresql+psycopg://podium:test-db-password@postgres:5432/podium"
    )
    assert env["PODIUM_BROKER_URL"] == "redis://:@redis:6379/0"  # no REDIS_PASSWORD set
    for name in ("api", "worker-gpu0"):
        dependencies = services[name]["depends_on"]
        assert dependencies["postgres"]["condition"] == "service_healthy"
        assert dependencies["redis"]["condition"] == "service_healthy"


def test_images_and_hosts_are_variables(tmp_path: Path) -> None:
    site = {
        "PYTHON_IMAGE": "mirror.example.org/python:3.11-slim-bookworm",
        "POSTGRES_IMAGE": "mirror.example.org/postgres:16",
        "REDIS_IMAGE": "mirror.example.org/redis:7",
        "REDIS_PASSWORD": "s3cr3tredis",
        "PODIUM_DATABASE_HOST": "10.0.0.1",
        "PODIUM_BROKER_HOST": "10.0.0.1",
    }
    result = _compose_config(tmp_path, {**_env_example(), **FILLED, **site})
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert services["postgres"]["image"] == site["POSTGRES_IMAGE"]
    assert services["redis"]["image"] == site["REDIS_IMAGE"]
    assert services["redis"]["command"][-2:] == ["--requirepass", "s3cr3tredis"]
    for name in ("api", "worker-gpu0"):
        assert services[name]["build"]["args"]["PYTHON_IMAGE"] == site["PYTHON_IMAGE"]
        env = services[name]["environment"]
        assert env["PODIUM_BROKER_URL"] == "redis://:s3cr3tredis@10.0.0.1:6379/0"
        assert "@10.0.0.1:5432/" in env["PODIUM_DATABASE_URL"]
    # The defaults: the official images.
    defaults = _compose_config(tmp_path, {**_env_example(), **FILLED})
    services = yaml.safe_load(defaults.stdout)["services"]
    assert services["postgres"]["image"] == "postgres:16-bookworm"
    assert services["api"]["build"]["args"]["PYTHON_IMAGE"] == "python:3.11-slim-bookworm"


#: Settings compose does not take from .env, and why.
NOT_FROM_ENV = {
    "PODIUM_DOCKER_SOCKET": "the socket is mounted at its default path",
}


def _variables(model: type[Settings]) -> set[str]:
    return {f"PODIUM_{name.upper()}" for name in model.model_fields} - set(NOT_FROM_ENV)


def test_every_setting_reaches_the_containers(
    resolved: dict[str, Any], raw: dict[str, Any]
) -> None:
    services = resolved["services"]
    assert _variables(Settings) <= set(services["api"]["environment"])
    for name in ("worker-gpu0", "scheduler"):
        missing = _variables(WorkerSettings) - set(services[name]["environment"])
        per_worker = {"PODIUM_GPUS", "PODIUM_WORKER_NAME", "PODIUM_WORKER_QUEUE"}
        assert missing <= (per_worker if name == "scheduler" else set()), (name, missing)
    # ... from .env: every one not fixed by the file is a ${VARIABLE}.
    shared = raw["x-podium-env"]
    fixed = {"PODIUM_ENVIRONMENT", "PODIUM_JOB_BACKEND", "PODIUM_LOG_JSON"}
    # The registry's addresses inside the stack (the service names) are the stack's own.
    fixed |= {"PODIUM_REGISTRY_URL", "PODIUM_REGISTRY_NOTIFY_URL"}
    for key, value in shared.items():
        if key not in fixed:
            assert "${" in str(value), f"{key} cannot be set from .env"
    # The container prefix is left to the worker (the compose project's name) by default.
    assert services["worker-gpu0"]["environment"]["PODIUM_CONTAINER_PREFIX"] == ""


def test_data_root_is_mounted_at_the_same_path(resolved: dict[str, Any]) -> None:
    for name in ("api", "worker-gpu0"):
        specs = _volume_specs(resolved["services"][name])
        assert ("/srv/podium-test", "/srv/podium-test") in specs, (name, specs)


def test_each_worker_owns_one_gpu_and_the_docker_socket(resolved: dict[str, Any]) -> None:
    workers = {k: v for k, v in resolved["services"].items() if k.startswith("worker")}
    assert workers
    gpus = []
    for name, service in workers.items():
        assert ("/var/run/docker.sock", "/var/run/docker.sock") in _volume_specs(service), name
        env = service["environment"]
        assert env["PODIUM_WORKER_NAME"] == name
        # The worker consumes the queue the API sends to.
        assert env["PODIUM_WORKER_QUEUE"] == env["PODIUM_EVALUATION_QUEUE"] == "evaluation"
        assert [str(g) for g in service["group_add"]] == ["998"]
        gpus.append(env["PODIUM_GPUS"])
    assert len(set(gpus)) == len(gpus), "two workers share a GPU"


def test_missing_secret_fails_with_a_readable_message(tmp_path: Path) -> None:
    # .env.example as shipped, secrets left empty.
    result = _compose_config(tmp_path, _env_example())
    assert result.returncode != 0
    assert "in .env" in result.stderr


def test_file_holds_no_literal_secret(raw: dict[str, Any]) -> None:
    environments = [raw.get("x-podium-env", {})]
    environments += [s.get("environment", {}) for s in raw["services"].values()]
    for environment in environments:
        for key, value in environment.items():
            if key == "<<":
                continue
            if SECRET_NAME.search(key) or ("URL" in key and "@" in str(value)):
                assert "${" in str(value), f"{key} is written into docker-compose.yml"
    assert "${POSTGRES_PASSWORD" in raw["x-podium-env"]["PODIUM_DATABASE_URL"]


def test_env_example_names_every_variable_and_no_secret(raw: dict[str, Any]) -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    example = _env_example()
    assert used <= set(example), f"not in .env.example: {sorted(used - set(example))}"
    for key, value in example.items():
        if SECRET_NAME.search(key):
            assert value == "", f".env.example ships a value for {key}"


def _instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    result = []
    for line in joined.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            keyword, _, rest = line.strip().partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


@pytest.mark.parametrize("kind", sorted(DOCKERFILES))
def test_dockerfile_copies_what_exists_and_runs_unprivileged(kind: str) -> None:
    instructions = _instructions(DOCKERFILES[kind])
    known = {"ARG", "FROM", "ENV", "WORKDIR", "COPY", "RUN", "USER", "EXPOSE", "HEALTHCHECK", "CMD"}
    assert {k for k, _ in instructions} <= known
    assert [k for k, _ in instructions[:2]] == ["ARG", "FROM"]
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for keyword, args in instructions:
        if keyword == "COPY":
            *sources, _target = args.split()
            for source in sources:
                assert (REPO / source).exists(), f"{kind}: COPY {source}: no such path"
                assert source not in ignored, f"{kind}: COPY {source} is in .dockerignore"
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users == ["10001:10001"], f"{kind} runs as {users}"
    # The group exists with the user's gid (a gid without a group entry makes Celery
    # warn about superuser privileges on every start).
    (setup,) = [args for keyword, args in instructions if "useradd" in args]
    assert "groupadd --system --gid 10001 podium" in setup
    assert "useradd --system --uid 10001 --gid 10001" in setup
    (health,) = [args for keyword, args in instructions if keyword == "HEALTHCHECK"]
    (command,) = [args for keyword, args in instructions if keyword == "CMD"]
    if kind == "api":
        assert json.loads(command)[:2] == ["podium", "serve"]
        assert "--migrate" in command
        assert "/readyz" in health
        assert "def create_app(" in (REPO / "backend" / "main.py").read_text(encoding="utf-8")
        assert (REPO / "alembic.ini").is_file()
    else:
        assert "celery -A worker.celery_app --quiet worker" in command
        assert importlib.util.find_spec("worker.celery_app") is not None
        assert "--concurrency 1 --prefetch-multiplier 1" in command
        assert '--queues \\"$PODIUM_WORKER_QUEUE\\"' in command
        assert '"worker.health", "worker"' in health
        assert "--interval=15s" in health
