"""Fixtures for the worker tests: a real Docker runner and a way to run scripts in it."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.fake_runner import FakeImages, FakeRunner
from tests.support.images import shell_image
from tests.support.sandbox import TEST_LIMITS
from tests.support.worker import dispose, make_context
from worker.runner.base import RunLimits, RunResult, RunSpec
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
