"""The storage contract the API and the workers share: keys, errors, the protocol.

Keys are the relative paths the database stores (``Submission.tarball_path``,
``Case.input_paths``, ``LabelSet.storage_path`` + ``/<case><ext>``, a
submission's predictions). Two backends implement :class:`Storage`:
:class:`~backend.storage.filesystem.FilesystemStorage` (files under the data
root; on several hosts, a shared mount) and
:class:`~backend.storage.s3.S3Storage` (an S3-compatible bucket). Whatever the
backend, whoever needs a file on local disk (the worker staging a run, the API
inspecting an upload) has it there first; nothing is ever half-written where a
reader can see it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Protocol


class StorageError(Exception):
    """An object is missing or the store cannot be reached or written."""


def checked_key(key: str) -> str:
    """``key`` if it is a relative path that stays inside the store.

    Examples
    --------
    >>> checked_key("submissions/3/image.tar")
    'submissions/3/image.tar'
    >>> checked_key("../etc/passwd")
    Traceback (most recent call last):
    ...
    ValueError: storage key '../etc/passwd' must be a relative path without '..'
    """
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts:
        raise ValueError(f"storage key {key!r} must be a relative path without '..'")
    return str(path)


class Readable(Protocol):
    """A stream of an object's bytes (a file, or an S3 response body)."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end."""
        ...

    def close(self) -> None:
        """Release the file or connection."""
        ...


def read_chunks(stream: Readable, chunk_bytes: int = 1024 * 1024) -> Iterator[bytes]:
    """An object's bytes in chunks (for a streamed response); closes the stream at the end."""
    try:
        while chunk := stream.read(chunk_bytes):
            yield chunk
    finally:
        stream.close()


class Storage(Protocol):
    """Objects by key: what the API writes and the workers read (and the reverse)."""

    def fetch(self, key: str, destination: Path) -> None:
        """Copy the object ``key`` to the local file ``destination``."""
        ...

    def put(self, source: Path, key: str) -> None:
        """Store a copy of the local file ``source`` as ``key`` (replacing it)."""
        ...

    def move_in(self, source: Path, key: str) -> None:
        """Store the local file ``source`` as the new object ``key``, consuming ``source``.

        Refuses (:class:`StorageError`) to replace an existing object; the object
        appears whole or not at all.
        """
        ...

    def move_in_folder(self, files: Mapping[str, Path], prefix: str) -> None:
        """Store ``{name: local file}`` as the new objects ``prefix/name``, consuming them.

        Refuses when ``prefix`` already holds objects; on failure, removes what it wrote.
        """
        ...

    def exists(self, key: str) -> bool:
        """Whether ``key`` exists."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Keys directly under the folder ``prefix``, sorted."""
        ...

    def open(self, key: str) -> Readable:
        """A stream of the object's bytes (:class:`StorageError` when it is missing)."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` if it exists."""
        ...

    def delete_folder(self, prefix: str) -> None:
        """Remove every object under the folder ``prefix``."""
        ...
