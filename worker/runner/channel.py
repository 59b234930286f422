"""What a run's driver may do while the container runs: look at and fetch files of ``/output``.

A closed-loop phase talks to the container through files: the worker writes
requests into a read-only inbox, the container answers in ``/output`` and
signals each answer with a file. :class:`RunChannel` is the driver's side of
``/output``; the Docker runner's implementation reads it through the keeper
container (:mod:`worker.runner.docker_channel`), a test's may read a folder.
Nothing here follows a link or reads a file that is not a regular file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

FileKind = Literal["file", "directory", "symlink", "other"]


@dataclass(frozen=True, slots=True)
class FileStat:
    """What a path in ``/output`` is (never following a final link) and its size in bytes."""

    kind: FileKind
    size: int


class RunChannel(Protocol):
    """The driver's view of a running container's ``/output``."""

    @property
    def deadline(self) -> float:
        """``time.monotonic()`` at which the run's wall-clock limit ends."""
        ...

    def running(self) -> bool:
        """Whether the container is still running."""
        ...

    def stat(self, path: str) -> FileStat | None:
        """What ``path`` (absolute, under ``/output``) is, or ``None`` if it does not exist."""
        ...

    def fetch(self, path: str, destination: Path, *, max_bytes: int) -> str | None:
        """Copy the regular file ``path`` to the new file ``destination``.

        Returns
        -------
        str or None
            ``None`` when copied; otherwise why not, in words for the team
            (it is gone, a link, a folder, larger than ``max_bytes``).
        """
        ...


def kind_words(kind: FileKind) -> str:
    """How a message names a path that is not a regular file.

    Examples
    --------
    >>> kind_words("symlink")
    'a symbolic link'
    """
    return {
        "file": "a file",
        "directory": "a folder",
        "symlink": "a symbolic link",
        "other": "not a regular file",
    }[kind]
