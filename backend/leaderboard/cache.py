"""Cached leaderboard responses and the invalidation hook writers call.

A board costs a query of every counted case score plus a 1,000-sample
bootstrap; serving one is a dictionary look-up. Entries are keyed by phase,
view and filters and stamped with what they were built from: the phase's
generation number (a row in the database, so a bump by the worker or another
API process is seen here) and a fingerprint of the phase's submissions. A
request whose stamp differs rebuilds the entry.

Writers call :func:`leaderboard_changed` in the transaction that changes what
a board shows: the worker after writing CaseScores, the phase service after a
visibility change. This module imports no web framework, so the worker can.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from backend.leaderboard import repository


def leaderboard_changed(session: Session, *, phase_id: int) -> None:
    """Invalidate every cached board of a phase, in every process, once ``session`` commits.

    Parameters
    ----------
    session
        The writer's session; the bump commits (or rolls back) with its change.
    phase_id
        The phase whose scores or visibility changed.
    """
    repository.bump_generation(session, phase_id=phase_id)


def stamp(session: Session, *, phase_id: int) -> tuple[Any, ...]:
    """What a cached board of the phase must have been built from to be served.

    Read it *before* the data: a commit landing in between then leaves newer
    data under an older stamp (rebuilt next time), never older data under a
    newer one.
    """
    return (
        repository.generation(session, phase_id=phase_id),
        repository.submissions_fingerprint(session, phase_id=phase_id),
    )


class _CollectorPause:
    """Counts the builds under way; the collector is off while any is."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._builds = 0
        self._resume = True

    def enter(self) -> None:
        with self._lock:
            if self._builds == 0:
                self._resume = gc.isenabled()
                gc.disable()
            self._builds += 1

    def leave(self) -> None:
        with self._lock:
            self._builds -= 1
            if self._builds == 0 and self._resume:
                gc.enable()


_PAUSE = _CollectorPause()


@contextmanager
def collection_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a board is built.

    A cold board parses tens of thousands of stored case results into short-lived dicts,
    lists and dataclasses: the allocations trigger generation-2 collections that walk
    the whole heap, about a quarter of the build (measured in ``benchmarks/leaderboard``).
    None of those objects form cycles; reference counting frees them, and the collector
    runs as usual once the last concurrent build ends. Nested and concurrent builds
    count: the collector comes back when the last one leaves, as it was before the first.
    """
    _PAUSE.enter()
    try:
        yield
    finally:
        _PAUSE.leave()


class BoardCache:
    """A small thread-safe LRU of built boards, each with its stamp.

    Parameters
    ----------
    max_entries
        How many (phase, view, filters) boards to keep.
    """

    def __init__(self, *, max_entries: int = 256) -> None:
        self._entries: OrderedDict[Hashable, tuple[Hashable, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self.hits = 0
        self.misses = 0

    def get_or_build(self, key: Hashable, current: Hashable, build: Callable[[], Any]) -> Any:
        """The entry under ``key`` if built at stamp ``current``, else ``build()`` stored.

        Two requests missing at once both build (boards are deterministic);
        holding the lock while building would serialise every phase.
        """
        with self._lock:
            found = self._entries.get(key)
            if found is not None and found[0] == current:
                self._entries.move_to_end(key)
                self.hits += 1
                return found[1]
            self.misses += 1
        with collection_paused():
            value = build()
        self.put(key, current, value)
        return value

    def get(self, key: Hashable, current: Hashable) -> Any | None:
        """The entry under ``key`` if built at stamp ``current``, else None."""
        with self._lock:
            found = self._entries.get(key)
            if found is None or found[0] != current:
                return None
            self._entries.move_to_end(key)
            return found[1]

    def put(self, key: Hashable, current: Hashable, value: Any) -> None:
        """Store ``value`` under ``key``, built at stamp ``current``."""
        with self._lock:
            self._entries[key] = (current, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()


#: The process's built boards and rankings.
BOARDS = BoardCache()

#: Parsed case results per evaluation, shared by every view and filter of a phase;
#: stamped with the phase's generation only, which CaseScore writers bump.
RESULTS = BoardCache(max_entries=4096)
