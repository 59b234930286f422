"""Fixtures for the worker tests: a real Docker runner and a way to run scripts in it."""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.db import make_session_factory
from backend.storage import FilesystemStorage
from tests.fixtures.registry import REGISTRY_SECRET
from tests.support.fake_runner import FakeImages, FakeRunner
from tests.support.images import shell_image
from tests.support.registry_world import registry_world
from tests.support.sandbox import TEST_LIMITS
from tests.support.worker import dispose, make_context
from worker.config import WorkerSettings
from worker.context import WorkerContext
from worker.images import image_store
from worker.prefetch import prefetcher
from worker.runner.base import MIB, RunLimits, RunResult, RunSpec
from worker.runner.docker import DockerRunner

_names = itertools.count()


@dataclass
class ScriptRun:
    """A finished sandboxed run of a shell script."""

    result: RunResult
    output_dir: Path
    name: str


@pytest.fixture
def runner(docker_client) -> DockerRunner:
    """The real Docker runner, on the session's client."""
    return DockerRunner(client_factory=lambda: docker_client)


@pytest.fixture
def run_script(docker_client, runner, tmp_path) -> Callable[..., ScriptRun]:
    """Run ``script`` (busybox sh) in the sandbox with :data:`TEST_LIMITS`."""

    def run(
        script: str,
        *,
        limits: RunLimits = TEST_LIMITS,
        inputs: dict[str, bytes] | None = None,
        env: dict[str, str] | None = None,
    ) -> ScriptRun:
        number = next(_names)
        input_dir = tmp_path / f"input-{number}"
        output_dir = tmp_path / f"output-{number}"
        input_dir.mkdir()
        output_dir.mkdir()
        for name, data in (inputs or {}).items():
            (input_dir / name).write_bytes(data)
        image = runner.present_image(shell_image(docker_client, script))
        name = f"podium-sub-test{os.getpid()}x{number}-1"
        spec = RunSpec(
            name=name,
            image=image,
            input_dir=input_dir,
            output_dir=output_dir,
            limits=limits,
            env=env or {},
        )
        return ScriptRun(result=runner.run(spec), output_dir=output_dir, name=name)

    return run


@pytest.fixture
def worker_context(committing_postgres_url, docker_client, tmp_path):
    """A worker context on a fresh committed PostgreSQL database and a temporary data root."""
    context = make_context(
        database_url=committing_postgres_url,
        data_root=tmp_path / "data",
        work_dir=tmp_path / "work",
        docker_client=docker_client,
        heartbeat_s=10.0,
    )
    yield context
    dispose(context)


@pytest.fixture
def fake_context(committing_postgres_url, tmp_path):
    """A worker context on a fresh database whose runner is a FakeRunner (no Docker)."""
    context = make_context(
        database_url=committing_postgres_url,
        data_root=tmp_path / "data",
        work_dir=tmp_path / "work",
        runner=FakeRunner(),
        heartbeat_s=10.0,
    )
    context.images = FakeImages(context.runner, context.storage)
    yield context
    dispose(context)


@pytest.fixture
def registry_setup(committing_postgres_url, engine_for, registry_server, docker_client, tmp_path):
    """``(world, make_context)``: a challenge served beside the registry, worker contexts on it.

    ``make_context(**settings)`` makes a worker context on ``docker_client``
    (prefetch off unless asked). Afterwards each context's prefetch is awaited
    and the images its store cached are removed.
    """
    engine = engine_for(committing_postgres_url)
    contexts = []

    def make_context(**overrides):
        settings = WorkerSettings(
            database_url=committing_postgres_url,
            secret_key=REGISTRY_SECRET,
            data_root=tmp_path / "data",
            work_dir=tmp_path / f"work-{len(contexts)}",
            max_attempts=2,
            retry_backoff_s=0,
            output_bytes=16 * MIB,
            tmp_bytes=4 * MIB,
            run_cpus=1.0,
            run_pids=64,
            container_prefix=f"podium-t{uuid.uuid4().hex[:8]}",
            **{"prefetch": False, **registry_server.settings(), **overrides},
        )
        context = WorkerContext(
            session_factory=make_session_factory(engine),
            storage=FilesystemStorage(settings.data_root),
            runner=DockerRunner(client_factory=lambda: docker_client),
            settings=settings,
        )
        contexts.append(context)
        return context

    with registry_world(
        engine=engine, registry=registry_server, data_root=tmp_path / "data", scored=True
    ) as world:
        yield world, make_context
    for context in contexts:  # images this test's workers pulled
        prefetcher(context).join(timeout=120)
        image_store(context).clear()
