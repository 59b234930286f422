"""Seconds spent in each stage of an evaluation (the benchmark and the metrics read them)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(slots=True)
class Timings:
    """Seconds spent in each stage (the benchmark prints them)."""

    load: float = 0.0
    run: float = 0.0
    collect: float = 0.0
    score: float = 0.0
    persist: float = 0.0

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Add the time spent in the ``with`` block to ``name``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            elapsed = time.perf_counter() - started
            setattr(self, name, getattr(self, name) + elapsed)
