"""A :class:`~worker.runner.base.ContainerRunner` without Docker, for fast state-machine tests.

It plays scripted runs in order: each :data:`Play` is called with the
:class:`~worker.runner.base.RunSpec` the worker asked for, writes whatever
files it likes into ``spec.output_dir`` (as the container would into
``/output``) and returns the run's :class:`~worker.runner.base.RunResult`, or
raises :class:`~worker.runner.base.InfrastructureError` as a failing engine
would. Everything else — staging, collecting, scoring, the guarded
transitions, the database — is the real code. The sandbox itself is tested
against the real Docker runner (``tests/worker/test_runner_*.py``).
"""

from __future__ import annotations

import gzip
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.challenges.contract import RootPolicy
from backend.storage import Storage, StorageError
from backend.submissions.images import ImageToRun
from tests.support.world import SHAPE_ZYX, write_mask
from worker.runner.base import (
    ImageRef,
    InfrastructureError,
    RunResult,
    RunSpec,
    SubmissionFailure,
)

#: One scripted container run.
Play = Callable[[RunSpec], RunResult]


def _result(*, exit_code: int = 0, log: str = "", **flags: bool) -> RunResult:
    return RunResult(
        exit_code=exit_code,
        timed_out=flags.get("timed_out", False),
        oom_killed=flags.get("oom_killed", False),
        duration_s=0.01,
        log=log,
        log_bytes=len(log.encode()),
    )


def copy_inputs(spec: RunSpec) -> RunResult:
    """A well-behaved container: each input mask is its prediction."""
    for path in sorted(spec.input_dir.iterdir()):
        shutil.copyfile(path, spec.output_dir / path.name)
    return _result(log="copied\n")


def write_nothing(spec: RunSpec) -> RunResult:
    """Exits 0 without writing a prediction."""
    return _result(log="done\n")


def write_garbage(spec: RunSpec) -> RunResult:
    """Writes a gzip-compressed file per case that is no image at all."""
    for path in sorted(spec.input_dir.iterdir()):
        (spec.output_dir / path.name).write_bytes(gzip.compress(b"not an image" * 10))
    return _result(log="wrote garbage\n")


def write_empty_masks(spec: RunSpec) -> RunResult:
    """Writes a readable prediction per case that finds no lesion (scored, dice 0)."""
    for path in sorted(spec.input_dir.iterdir()):
        write_mask(spec.output_dir / path.name, np.zeros(SHAPE_ZYX, dtype=np.uint8))
    return _result(log="found nothing\n")


def exits(code: int, log: str = "") -> Play:
    """A container that exits with ``code`` after printing ``log``."""
    return lambda spec: _result(exit_code=code, log=log)


def times_out(spec: RunSpec) -> RunResult:
    """Killed at the wall-clock limit."""
    return _result(exit_code=137, log="still working\n", timed_out=True)


def out_of_memory(spec: RunSpec) -> RunResult:
    """Killed by the OOM killer."""
    return _result(exit_code=137, log="allocating\n", oom_killed=True)


def engine_fault(message: str = "engine unreachable") -> Play:
    """The engine fails: our fault, not the team's."""

    def play(spec: RunSpec) -> RunResult:
        raise InfrastructureError(message)

    return play


def after(hook: Callable[[RunSpec], object], play: Play) -> Play:
    """Call ``hook`` while the container "runs" (e.g. let another worker take over), then play."""

    def run(spec: RunSpec) -> RunResult:
        hook(spec)
        return play(spec)

    return run


@dataclass
class FakeRunner:
    """Plays ``plays`` in order, one per container run; records what it was asked.

    Attributes
    ----------
    plays
        The runs still to play; a run beyond them fails the test.
    load_failure
        Raised by :meth:`load_image` instead of loading (e.g. a root image).
    runs
        Every :class:`RunSpec` asked for, in order.
    loaded, removed
        Image IDs loaded and removed.
    """

    plays: list[Play] = field(default_factory=list)
    load_failure: SubmissionFailure | InfrastructureError | None = None
    runs: list[RunSpec] = field(default_factory=list)
    loaded: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def load_image(
        self, tarball: Path, *, expected_id: str, root_images: RootPolicy = "refuse"
    ) -> ImageRef:
        """The image "loaded" from ``tarball`` (which must exist, as in storage)."""
        if not tarball.is_file():
            raise InfrastructureError(f"the submission's image tarball {tarball} is missing")
        if self.load_failure is not None:
            raise self.load_failure
        self.loaded.append(expected_id)
        return ImageRef(image_id=expected_id, user="1000:1000", loaded=True)

    def run(self, spec: RunSpec) -> RunResult:
        """Play the next scripted run."""
        self.runs.append(spec)
        if not self.plays:
            raise AssertionError(f"unexpected container run {spec.name}")
        return self.plays.pop(0)(spec)

    def remove_image(self, image: ImageRef) -> None:
        """Record the removal."""
        self.removed.append(image.image_id)


class FakeImages:
    """The image source of a :class:`FakeRunner` context: the stored tarball, "loaded" by it.

    Like the Docker image store, a missing stored tarball is our fault
    (``InfrastructureError``); what the runner's ``load_image`` refuses is the team's.
    """

    def __init__(self, runner: FakeRunner, storage: Storage) -> None:
        self.runner = runner
        self.storage = storage

    def acquire(
        self, image: ImageToRun, *, workdir: Path, root_images: RootPolicy = "refuse"
    ) -> ImageRef:
        """Fetch the stored tarball and hand it to the scripted runner."""
        if image.tarball_key is None:
            raise InfrastructureError("the fake image source holds tarballs only")
        tarball = workdir / "image.tar"
        try:
            self.storage.fetch(image.tarball_key, tarball)
        except StorageError as exc:
            raise InfrastructureError(f"submission image: {exc}") from exc
        return self.runner.load_image(
            tarball, expected_id=image.config_digest, root_images=root_images
        )

    def release(self, image: ImageToRun) -> None:
        """Nothing is cached."""
