"""Local copies of a phase's input files, made ahead of a run and linked into its ``/input``.

The prefetcher (:mod:`worker.prefetch`) fetches the next queued submission's
input files from storage into the worker's scratch folder while another run
goes on; staging then hard-links them into the run's ``/input`` folder instead
of fetching them again (an S3 download, or a copy out of the data root).

A copy is kept under its storage key, and an input's key names its content
(the API stores each case's input as ``<case>.<sha256[:16]><ext>`` and never
writes a key twice), so a copy is never stale. The folder is mounted
read-only into containers, so a linked file cannot be changed through
``/input``. What is kept is bounded by :meth:`InputCache.retain`: the inputs of
the running and the next submission's phases.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

import structlog

from backend.storage import Readable, Storage, checked_key
from worker.config import WorkerSettings

log = structlog.get_logger(__name__)


class InputCache:
    """Input files by storage key under ``folder`` (the worker's scratch folder)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, key: str) -> Path:
        """Where the copy of ``key`` lives (whether or not it is there)."""
        return self.folder.joinpath(*checked_key(key).split("/"))

    def fill(self, storage: Storage, keys: Iterable[str]) -> int:
        """Fetch the keys not held yet; returns how many were fetched.

        Each file is fetched under a temporary name and renamed into place, so
        a run staging at the same time sees a whole file or none.

        Raises
        ------
        ~backend.storage.StorageError
            A file cannot be fetched (the caller gives up on it; staging will
            fetch from storage as usual).
        """
        fetched = 0
        for key in keys:
            target = self.path(key)
            if target.is_file():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
            try:
                storage.fetch(key, partial)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
            fetched += 1
        return fetched

    def link(self, key: str, destination: Path) -> bool:
        """Hard-link (else copy) the copy of ``key`` to ``destination``; ``False`` if not held."""
        source = self.path(key)
        try:
            destination.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, destination)
            except OSError:
                if not source.is_file():
                    return False
                shutil.copyfile(source, destination)  # another file system, or no links
        except OSError:
            return False  # gone meanwhile (retain), or a full disk: fetch as usual
        return True

    def retain(self, keys: Iterable[str]) -> int:
        """Remove every copy but those of ``keys``; returns how many were removed."""
        keep = {self.path(k) for k in keys}
        removed = 0
        if not self.folder.is_dir():
            return 0
        for path in sorted(self.folder.rglob("*"), reverse=True):
            try:
                if path.is_file() and path not in keep:
                    path.unlink()
                    removed += 1
                elif path.is_dir() and not any(path.iterdir()):
                    path.rmdir()
            except OSError:
                continue
        return removed


def worker_input_cache(settings: WorkerSettings) -> InputCache:
    """The worker's input cache, under its scratch folder (never mounted as such)."""
    return InputCache(settings.scratch_dir / "input-cache")


class CachedInputs:
    """The storage a run stages its inputs from: the cache's copies first, then ``storage``.

    Only :meth:`fetch` looks at the cache; the other methods of the
    :class:`~backend.storage.Storage` protocol are ``storage``'s own.
    """

    def __init__(self, storage: Storage, cache: InputCache) -> None:
        self.storage = storage
        self.cache = cache

    def fetch(self, key: str, destination: Path) -> None:
        """The cached copy, linked; else fetched from storage."""
        if self.cache.link(key, destination):
            return
        self.storage.fetch(key, destination)

    def put(self, source: Path, key: str) -> None:
        self.storage.put(source, key)

    def move_in(self, source: Path, key: str) -> None:
        self.storage.move_in(source, key)

    def move_in_folder(self, files: Mapping[str, Path], prefix: str) -> None:
        self.storage.move_in_folder(files, prefix)

    def exists(self, key: str) -> bool:
        return self.storage.exists(key)

    def list(self, prefix: str) -> list[str]:
        return self.storage.list(prefix)

    def open(self, key: str) -> Readable:
        return self.storage.open(key)

    def delete(self, key: str) -> None:
        self.storage.delete(key)

    def delete_folder(self, prefix: str) -> None:
        self.storage.delete_folder(prefix)
