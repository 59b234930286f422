"""A worker's image cache index: which images it pulled or loaded, how big, when last used.

The index is a small JSON file in the worker's scratch folder, read and
written under an exclusive ``flock`` (a worker's pre-flight and main run, or a
restarted worker, never see it half-written). The images themselves live in
the Docker engine; the index only says which of them this worker brought in
(and so may remove) and in what order they were last used.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import structlog

log = structlog.get_logger(__name__)

INDEX_FILE = "index.json"


@dataclass(slots=True)
class CacheEntry:
    """One cached image.

    Attributes
    ----------
    key
        The image's cache key: a pushed image's manifest digest, a tarball's
        config digest (:attr:`backend.submissions.images.ImageToRun.cache_key`).
    engine_ref
        What the engine knows it by and what removing it names: ``host/repo@digest``
        for a pulled image, the image ID for a loaded one.
    size_bytes
        The engine's size of the image (shared layers are counted in every
        image that has them, so the budget errs on the safe side).
    last_used
        Seconds since the epoch of the last run that used it.
    source
        ``registry`` or ``tarball``.
    """

    key: str
    engine_ref: str
    size_bytes: int
    last_used: float
    source: Literal["registry", "tarball"]


def victims(
    entries: Iterable[CacheEntry], *, budget_bytes: int, keep: set[str]
) -> list[CacheEntry]:
    """The least recently used entries to remove so the rest fit ``budget_bytes``.

    Entries in ``keep`` (the image in use, images queued on this worker) are
    never chosen, even when the rest cannot be brought under the budget.

    Examples
    --------
    >>> e = [CacheEntry(k, k, 10, t, "registry") for k, t in (("a", 1), ("b", 2), ("c", 3))]
    >>> [v.key for v in victims(e, budget_bytes=15, keep=set())]
    ['a', 'b']
    >>> [v.key for v in victims(e, budget_bytes=15, keep={"a"})]
    ['b', 'c']
    >>> victims(e, budget_bytes=30, keep=set())
    []
    """
    ordered = sorted(entries, key=lambda e: e.last_used)
    total = sum(e.size_bytes for e in ordered)
    chosen = []
    for entry in ordered:
        if total <= budget_bytes:
            break
        if entry.key in keep:
            continue
        chosen.append(entry)
        total -= entry.size_bytes
    return chosen


class CacheIndex:
    """The JSON index in ``folder``, changed only inside :meth:`edit`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @contextmanager
    def edit(self) -> Iterator[dict[str, CacheEntry]]:
        """The entries by key, locked; what the block leaves is written back.

        The index only saves work: when its folder cannot be written (a full
        scratch disk), the block gets an empty index and nothing is kept, and
        the run goes on to fail, or not, for its own reasons.
        """
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            lock = (self.folder / ".lock").open("a")
        except OSError as exc:
            log.warning("images.cache_index_unavailable", folder=str(self.folder), error=str(exc))
            yield {}
            return
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self._read()
            yield entries
            try:
                self._write(entries)
            except OSError as exc:
                log.warning("images.cache_index_not_saved", folder=str(self.folder), error=str(exc))

    def snapshot(self) -> dict[str, CacheEntry]:
        """The entries as they are now (read under the lock)."""
        with self.edit() as entries:
            return dict(entries)

    def _read(self) -> dict[str, CacheEntry]:
        try:
            raw = json.loads((self.folder / INDEX_FILE).read_text())
        except (OSError, ValueError):
            return {}  # no index yet, or a damaged one: the engine still has the images
        entries = {}
        for item in raw.get("entries", []):
            try:
                entry = CacheEntry(**item)
            except TypeError:
                continue
            entries[entry.key] = entry
        return entries

    def _write(self, entries: dict[str, CacheEntry]) -> None:
        path = self.folder / INDEX_FILE
        temporary = path.with_name(f".{INDEX_FILE}.{os.getpid()}.tmp")
        try:
            temporary.write_text(
                json.dumps({"entries": [asdict(e) for e in entries.values()]}, indent=1)
            )
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)


def now() -> float:
    """The clock the index uses."""
    return time.time()
