"""The container-runner interface, what a run is asked and what it reports.

Two kinds of failure leave a run, and they are treated differently upstream:

* :class:`SubmissionFailure` is the team's fault (its container crashed, ran out
  of time or memory, wrote nothing usable). The message is shown to the team and
  the submission slot is consumed.
* :class:`InfrastructureError` is ours (the Docker engine is down, the disk is
  full, the worker died). The task is retried with backoff and, if it keeps
  failing, the submission ends in ``error`` and its slot is refunded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from backend.challenges.contract import ENGINE_SHM_MB, RootPolicy
from worker.runner.channel import RunChannel

KIB = 1024
MIB = 1024 * KIB
GIB = 1024 * MIB
#: A pull or load is stopped after this long without progress (``PODIUM_IMAGE_STALL_TIMEOUT_S``).
IMAGE_STALL_S = 600.0


class SubmissionFailure(Exception):  # noqa: N818 - the house name (docs/architecture.md)
    """A participant fault; ``message`` is written for the team.

    Parameters
    ----------
    kind
        A short machine-readable class (``timeout``, ``out_of_memory``,
        ``nonzero_exit``, ``no_outputs``, ``invalid_outputs``, ``image_user``,
        ``image_invalid``).
    message
        What happened and what to change, in words a team can act on.
    log
        The container's log (head and tail), when a run produced one.
    """

    def __init__(self, kind: str, message: str, *, log: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.log = log


class InfrastructureError(Exception):
    """A fault on our side: retried, then the submission ends in ``error``."""


class DeploymentError(InfrastructureError):
    """A worker set up wrong for the run it was given (a GPU phase on a GPU-less worker).

    Raised before any container starts; retried on the run's queue like any fault
    of ours, and the final, refunded message names the fault (its text) so the
    organisers can fix the deployment.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class RunLimits:
    """The sandbox's resource limits.

    Attributes
    ----------
    wall_seconds
        Wall-clock limit; the container is killed when it is reached.
    memory_bytes
        Memory limit; swap is set equal so nothing spills to swap. Files the
        container writes to ``/output`` (a tmpfs) count against it too.
    pids
        Maximum number of processes and threads (fork bombs stop here).
    cpus
        CPU quota in cores (fractions allowed).
    output_bytes
        Size of the ``/output`` file system: writes beyond it fail with ENOSPC.
    tmp_bytes
        Size of the ``/tmp`` tmpfs.
    log_head_bytes, log_tail_bytes
        How much of the start and of the end of the combined stdout/stderr is
        kept; the middle of a longer log is dropped.
    """

    wall_seconds: float = 3600.0
    memory_bytes: int = 16 * GIB
    pids: int = 256
    cpus: float = 4.0
    output_bytes: int = 4 * GIB
    tmp_bytes: int = 256 * MIB
    log_head_bytes: int = 64 * KIB
    log_tail_bytes: int = 64 * KIB

    def __post_init__(self) -> None:
        for name in ("wall_seconds", "memory_bytes", "pids", "cpus", "output_bytes", "tmp_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"RunLimits.{name} must be positive, got {getattr(self, name)}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageRef:
    """An image ready to run.

    Attributes
    ----------
    image_id
        The engine's image ID (``sha256:...``).
    user
        The numeric ``uid:gid`` the container runs as (never root): the one the
        image declares, or an unprivileged one for an image that declares root
        under a phase that runs such images (``unprivileged``).
    loaded
        Whether this run loaded it (and so removes it afterwards).
    volumes
        Paths the image declares as ``VOLUME``; each gets a small tmpfs, since
        the engine would otherwise give it a writable, uncapped volume on the
        host's disk.
    unprivileged
        Whether ``user`` replaces the root the image declares.
    entrypoint, cmd
        The image's ENTRYPOINT and CMD (what the run contract's arguments are
        appended to).
    """

    image_id: str
    user: str
    loaded: bool
    volumes: tuple[str, ...] = ()
    unprivileged: bool = False
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSpec:
    """One container run.

    Attributes
    ----------
    name
        Container name, ``podium-sub-{id}-{attempt}``; a leftover container of
        that name (a redelivered task) is removed first.
    image
        The image to run (from :meth:`ContainerRunner.load_image`).
    input_dir
        Host directory mounted read-only at ``/input``: only the test inputs.
    output_dir
        Empty host directory the container's ``/output`` is copied into after
        the run (regular files at the top level only).
    limits
        Resource limits.
    gpus
        Device IDs of the GPUs to expose (empty: none).
    env
        Extra environment variables.
    replaces
        Names of earlier attempts' containers, removed (with their keeper and
        volume) before this one starts: a worker that died leaves them running.
    args
        The run contract's arguments, appended to the image's command (see
        :meth:`command`).
    shm_bytes
        Size of ``/dev/shm`` (a tmpfs whose pages count in the memory limit).
    output_depth
        How much of ``/output`` is copied out after the run: 1 its top-level
        files, 2 also the files of its top-level folders (an interactive
        phase's ``<case>/<case>_<k>.nii.gz``), 0 nothing (a closed loop, whose
        driver fetched each prediction when it was signalled).
    inbox_dir, inbox_mount
        A host folder mounted read-only at ``inbox_mount``: what the worker
        hands the container while it runs (a closed loop's clicks).
    driver
        Called with a :class:`~worker.runner.channel.RunChannel` once the
        container has started, while it runs. It returns ``None`` when the run
        ended without it (the container exited, the time limit came), or the
        seconds the container may take to exit now that the worker is done
        with it; one that does not is stopped without counting as a failure
        (:attr:`RunResult.stopped`).
    """

    name: str
    image: ImageRef
    input_dir: Path
    output_dir: Path
    limits: RunLimits
    gpus: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    replaces: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    shm_bytes: int = ENGINE_SHM_MB * MIB
    output_depth: int = 1
    inbox_dir: Path | None = None
    inbox_mount: str = "/inbox"
    driver: Callable[[RunChannel], float | None] | None = None

    def command(self) -> list[str] | None:
        """The command handed to the engine; ``None`` runs the image's own.

        Arguments are appended to what the image runs: with an ENTRYPOINT they
        replace CMD (``docker run IMAGE ARGS``), without one they follow CMD.

        Examples
        --------
        >>> image = ImageRef(image_id="i", user="1:1", loaded=False,
        ...                  entrypoint=("/bin/bash", "/user/run.sh"), cmd=("ignored",))
        >>> RunSpec(name="n", image=image, input_dir=Path(), output_dir=Path(),
        ...         limits=RunLimits(), args=("/input/cases.csv",)).command()
        ['/input/cases.csv']
        >>> image = ImageRef(image_id="i", user="1:1", loaded=False, cmd=("python3", "p.py"))
        >>> RunSpec(name="n", image=image, input_dir=Path(), output_dir=Path(),
        ...         limits=RunLimits(), args=("/input",)).command()
        ['python3', 'p.py', '/input']
        """
        if not self.args:
            return None
        if self.image.entrypoint:
            return list(self.args)
        return [*self.image.cmd, *self.args]


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """What a finished run looked like.

    Attributes
    ----------
    exit_code
        The container's exit status (137 after a kill).
    timed_out
        Whether the wall-clock limit was reached and the container killed.
    oom_killed
        Whether the kernel's OOM killer fired inside the container.
    duration_s
        Wall-clock seconds from start to exit.
    log
        Combined stdout/stderr, head and tail kept (see :class:`LogCapture`).
    log_bytes
        Full size of the log before truncation.
    output_notes
        Entries of ``/output`` that were not copied out (symlinks, directories,
        devices, oversized files), one sentence each.
    stopped
        The run's driver had all it needed and the worker stopped a container
        that did not exit by itself: not the team's failure.
    """

    exit_code: int
    timed_out: bool
    oom_killed: bool
    duration_s: float
    log: str
    log_bytes: int
    output_notes: tuple[str, ...] = ()
    stopped: bool = False

    def failure(self, limits: RunLimits) -> SubmissionFailure | None:
        """The participant fault this run shows, if any.

        Timeout beats OOM beats the exit code, since a killed container's exit
        code (137) only repeats why it was killed. When the log shows that a
        process or thread could not be started, the message names the process
        limit, which is then the likely cause. A container the worker stopped
        after its driver finished has not failed.
        """
        if self.stopped and not self.timed_out:
            return None
        if self.timed_out:
            return SubmissionFailure(
                "timeout",
                f"The container was still running after the time limit of "
                f"{limits.wall_seconds:g} s and was stopped. Make it finish sooner "
                "(all cases together must fit the limit)." + _process_limit_note(self.log, limits),
            )
        if self.oom_killed or self.exit_code == 137:
            return SubmissionFailure(
                "out_of_memory",
                f"The container ran out of memory (limit {limits.memory_bytes / MIB:.0f} MiB, "
                "which includes the files written to /output) and was killed "
                f"(exit code {self.exit_code}). Use less memory, e.g. process one case "
                "at a time.",
            )
        if self.exit_code != 0:
            return SubmissionFailure(
                "nonzero_exit",
                f"The container exited with code {self.exit_code}; the end of its log shows why."
                + _process_limit_note(self.log, limits),
            )
        return None


#: How a refused fork or thread start reads in a log (busybox and bash, glibc, Python, Go,
#: Java), lower-cased.
_FORK_FAILED = (
    "can't fork",
    "cannot fork",
    "fork: retry",
    "fork: resource temporarily unavailable",
    "fork failed",
    "can't start new thread",
    "pthread_create failed",
    "failed to create new os thread",
    "unable to create native thread",
)


def _process_limit_note(log: str, limits: RunLimits) -> str:
    """A sentence naming the process limit when the log shows forks failing, else ``""``.

    Examples
    --------
    >>> note = _process_limit_note("sh: can't fork: Resource temporarily unavailable", RunLimits())
    >>> "at most 256 processes and threads together" in note
    True
    >>> _process_limit_note("Traceback ... ValueError", RunLimits(pids=64))
    ''
    """
    text = log.lower()
    if not any(sign in text for sign in _FORK_FAILED):
        return ""
    return (
        " Its log shows that a process or thread could not be started: a container may run "
        f"at most {limits.pids} processes and threads together (the process limit)."
    )


class LogCapture:
    """Keeps the first ``head`` and the last ``tail`` bytes of a stream.

    Examples
    --------
    >>> log = LogCapture(head=4, tail=3)
    >>> for chunk in (b"ab", b"cdefg", b"hij"):
    ...     log.feed(chunk)
    >>> log.total
    10
    >>> print(log.text())
    abcd
    [... 3 bytes omitted ...]
    hij
    """

    def __init__(self, *, head: int, tail: int) -> None:
        self._head_limit = head
        self._tail_limit = tail
        self._head = bytearray()
        self._tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes) -> None:
        """Add the next bytes of the stream."""
        self.total += len(chunk)
        room = self._head_limit - len(self._head)
        if room > 0:
            self._head += chunk[:room]
            chunk = chunk[room:]
        if chunk and self._tail_limit > 0:
            self._tail += chunk
            # Trimming only past twice the limit keeps a flood linear, not quadratic.
            if len(self._tail) > 2 * self._tail_limit:
                del self._tail[: len(self._tail) - self._tail_limit]

    def text(self) -> str:
        """The kept bytes as text, with a marker where the middle was dropped."""
        tail = bytes(self._tail[-self._tail_limit :]) if self._tail_limit else b""
        omitted = self.total - len(self._head) - len(tail)
        head = _printable(bytes(self._head))
        if omitted <= 0:
            return head + _printable(tail)
        return head + f"\n[... {omitted} bytes omitted ...]\n" + _printable(tail)


def _printable(data: bytes) -> str:
    """UTF-8 text with NUL bytes replaced (PostgreSQL text cannot hold them).

    Examples
    --------
    >>> _printable(b"a\\x00b\\xff")
    'a\ufffdb\ufffd'
    """
    return data.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


class ContainerRunner(Protocol):
    """Runs a submission's image sandboxed; the Docker implementation is the real one."""

    def load_image(
        self, tarball: Path, *, expected_id: str, root_images: RootPolicy = "refuse"
    ) -> ImageRef:
        """Load a ``docker save`` tarball and check it is the expected image.

        ``expected_id`` is the image ID the API computed from the tarball (the
        digest of its config), whatever the engine's own image IDs are.
        ``root_images`` is the phase's policy for images that declare root.

        Raises
        ------
        SubmissionFailure
            The image would run as root (and the phase refuses that) or is not
            a loadable image.
        InfrastructureError
            The engine is unavailable, or the tarball is not the image that
            was accepted.
        """
        ...

    def run(self, spec: RunSpec) -> RunResult:
        """Run the container to completion (or the limit) and copy ``/output`` out.

        Raises
        ------
        InfrastructureError
            The engine failed; nothing is known about the submission.
        """
        ...

    def remove_image(self, image: ImageRef) -> None:
        """Remove an image this worker loaded (a no-op for one it found)."""
        ...
