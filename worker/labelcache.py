"""Prepared labels kept between submissions.

Reading a label and preparing its components is about half of scoring a case
(docs/benchmarks.md, scoring/score_case), and it depends only on the label
file: a :class:`~scoring.labelcase.LabelCase` is prepared once per label-set
version, case and mode and pickled under the worker's scratch folder, which no
container ever mounts. Label-set versions are immutable (a new upload is a new
version with its own id and sha256), so entries never go stale; a new
:data:`scoring.labelcase.CACHE_FORMAT` gets its own folder; deleting the
folder is always safe.
"""

from __future__ import annotations

import os
import pickle
import uuid
from collections.abc import Callable
from pathlib import Path

import structlog

from scoring.labelcase import CACHE_FORMAT, LabelCase
from scoring.results import Mode
from worker.config import WorkerSettings

log = structlog.get_logger(__name__)


class LabelCache:
    """A folder of pickled :class:`LabelCase` objects.

    Parameters
    ----------
    root
        The cache folder (``<scratch>/label-cache``); ``None`` disables caching.
    remember
        Also keep every label returned in memory (one job scoring many
        submissions, e.g. a phase's re-scoring), so later ones skip unpickling.
    """

    def __init__(self, root: Path | None, *, remember: bool = False) -> None:
        self.root = root
        self._memory: dict[tuple[int, str, str, Mode], LabelCase] | None = {} if remember else None

    def _path(self, label_set: tuple[int, str], case_key: str, mode: Mode) -> Path | None:
        if self.root is None:
            return None
        folder = f"{label_set[0]}-{label_set[1][:32]}"
        return self.root / f"v{CACHE_FORMAT}" / folder / f"{mode}-{case_key}.pickle"

    def get(
        self,
        *,
        label_set: tuple[int, str],
        case_key: str,
        mode: Mode,
        load: Callable[[], LabelCase],
    ) -> LabelCase:
        """The prepared label, from the cache or from ``load()`` (then stored).

        Parameters
        ----------
        label_set
            The label set's database id and sha256 (together: one immutable version).
        case_key
            The case.
        mode
            The scoring mode the label is prepared for.
        load
            Fetches and prepares the label on a miss.
        """
        memo = (label_set[0], label_set[1], case_key, mode)
        if self._memory is not None and memo in self._memory:
            return self._memory[memo]
        prepared = self._stored(label_set, case_key, mode, load)
        if self._memory is not None:
            self._memory[memo] = prepared
        return prepared

    def _stored(
        self,
        label_set: tuple[int, str],
        case_key: str,
        mode: Mode,
        load: Callable[[], LabelCase],
    ) -> LabelCase:
        path = self._path(label_set, case_key, mode)
        if path is not None and path.is_file():
            try:
                with path.open("rb") as stream:
                    # Written by this worker into its private scratch folder only.
                    cached = pickle.load(stream)  # noqa: S301
                if isinstance(cached, LabelCase) and cached.case_id == case_key:
                    return cached
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
                log.warning("label_cache.unreadable", path=str(path))
        prepared = load()
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
                with partial.open("wb") as stream:
                    pickle.dump(prepared, stream, protocol=pickle.HIGHEST_PROTOCOL)
                os.replace(partial, path)
            except OSError:
                log.warning("label_cache.not_written", path=str(path))
        return prepared


def worker_label_cache(settings: WorkerSettings) -> LabelCache:
    """The worker's cache of prepared labels, under its scratch folder (never mounted)."""
    return LabelCache(settings.scratch_dir / "label-cache")
