"""The CPU share a run gets: the configured one, at most what the engine's host has.

An engine refuses a CPU quota above its host's CPU count ("Range of CPUs is
from 0.01 to 2.00, as there are only 2 CPUs available"), so the default share
of 4 CPUs would fail every run on a smaller host. The share is clamped instead,
and the clamp is logged so an operator sees the phase gets less than asked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class CpuShare:
    """Clamps requested CPUs to the engine host's CPU count, read once.

    Parameters
    ----------
    engine_info
        Returns the engine's ``info()`` (``NCPU`` is read from it on first use
        and cached: a host's CPU count does not change under a running worker).

    Examples
    --------
    >>> share = CpuShare(lambda: {"NCPU": 2})
    >>> share.host_cpus(), share.nano_cpus(0.5), share.nano_cpus(2)
    (2, 500000000, 2000000000)
    """

    def __init__(self, engine_info: Callable[[], Mapping[str, Any]]) -> None:
        self._engine_info = engine_info
        self._host_cpus: int | None = None
        self._lock = threading.Lock()

    def host_cpus(self) -> int:
        """The engine host's CPU count (asked once)."""
        with self._lock:
            if self._host_cpus is None:
                self._host_cpus = int(self._engine_info()["NCPU"])
            return self._host_cpus

    def nano_cpus(self, requested: float) -> int:
        """``requested`` CPUs in the engine's units (1e9 per CPU), at most the host's CPUs."""
        if requested <= 1:
            # Every host has one CPU: no need to ask the engine.
            return int(requested * 1e9)
        host = self.host_cpus()
        if requested > host:
            log.warning("runner.cpus_clamped", requested_cpus=requested, host_cpus=host)
            return host * 10**9
        return int(requested * 1e9)
