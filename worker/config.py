"""Worker settings: the backend's settings plus what only a worker host needs.

Read from the same ``PODIUM_*`` environment as the API (one place, one prefix).
To add a GPU host: start one worker process per GPU with ``PODIUM_GPUS=<index>``
and ``PODIUM_WORKER_QUEUE=<host class>`` (e.g. ``gpu-a100``); see docs/worker.md.
"""

from __future__ import annotations

import socket
from functools import lru_cache
from pathlib import Path

from pydantic import Field

from backend.config import Settings
from worker.runner.base import GIB, MIB, RunLimits


class WorkerSettings(Settings):
    """Settings of one worker process.

    Attributes
    ----------
    gpus
        Comma-separated GPU device IDs this worker hands to containers
        (``PODIUM_GPUS``); empty: no GPU (CI, CPU-only hosts).
    container_prefix
        First part of container names, ``{prefix}-sub-{id}-{attempt}``; distinct per
        deployment sharing a Docker engine (submission ids restart in each database).
        Empty: the worker's compose project name, or ``podium`` (:mod:`worker.host`).
    worker_name
        This worker's name in logs and messages (``PODIUM_WORKER_NAME``; the host name).
    worker_queue
        The queue this worker consumes (a GPU host class).
    work_dir
        Local scratch for staged images, inputs and outputs; must be at the same
        path for the Docker engine (compose mounts it so).
    run_cpus, run_pids, output_bytes, tmp_bytes
        Sandbox limits not set per phase.
    max_attempts
        Runs of a submission before an infrastructure fault ends it in ``error``.
    retry_backoff_s
        First retry delay; doubled at each retry.
    stuck_margin_s
        How long past its phase's time limit a running submission may stay
        before the reaper takes it back.
    heartbeat_s
        How often a worker refreshes the row of the submission it runs; three
        missed heartbeats hand the submission to the next delivery.
    task_time_limit_s
        Celery's hard limit for one task (a backstop above every phase's limit).
    image_cache_bytes
        Disk budget of this worker's image cache (docs/worker.md "Image cache"):
        least recently used images it pulled or loaded are removed beyond it; 0
        removes each image after its run.
    image_stall_timeout_s
        A pull or load is stopped only after this long without any progress
        (there is no limit on its total time).
    registry_pull_host
        The registry as this worker's Docker engine reaches it (default: the
        registry's address in image references).
    registry_pull_token_ttl_s
        Lifetime of the pull token the worker mints for one pull (the engine
        cannot renew it, so it covers the slowest pull).
    scoring_threads
        Cases scored at a time when re-scoring a phase from stored predictions
        (decompression releases the GIL); evaluations score one case at a time.
    """

    gpus: str = ""
    container_prefix: str = Field(default="", pattern=r"^([a-z0-9][a-z0-9-]{0,30})?$")
    worker_name: str = Field(default_factory=socket.gethostname)
    worker_queue: str = "evaluation"
    work_dir: Path | None = None
    run_cpus: float = Field(default=4.0, gt=0)
    run_pids: int = Field(default=512, gt=0)
    output_bytes: int = Field(default=8 * GIB, gt=0)
    tmp_bytes: int = Field(default=1 * GIB, gt=0)
    max_attempts: int = Field(default=3, ge=1)
    retry_backoff_s: float = Field(default=30.0, ge=0)
    stuck_margin_s: float = Field(default=900.0, ge=0)
    heartbeat_s: float = Field(default=10.0, gt=0)
    task_time_limit_s: int = Field(default=8 * 3600, gt=0)
    image_cache_bytes: int = Field(default=200 * GIB, ge=0)
    image_stall_timeout_s: float = Field(default=600.0, gt=0)
    registry_pull_host: str = ""
    registry_pull_token_ttl_s: int = Field(default=4 * 3600, gt=0)
    scoring_threads: int = Field(default=2, ge=1)

    @property
    def takeover_after_s(self) -> float:
        """Silence after which a run in progress counts as abandoned by its worker."""
        return 3 * self.heartbeat_s

    @property
    def gpu_ids(self) -> tuple[str, ...]:
        """``PODIUM_GPUS`` as a tuple of device IDs."""
        return tuple(g.strip() for g in self.gpus.split(",") if g.strip())

    @property
    def scratch_dir(self) -> Path:
        """Where runs are staged (``work_dir`` or ``<data root>/work``)."""
        return self.work_dir or self.data_root / "work"

    def limits(self, *, time_limit_s: float, memory_limit_mb: int) -> RunLimits:
        """The sandbox limits of a phase on this worker."""
        return RunLimits(
            wall_seconds=float(time_limit_s),
            memory_bytes=int(memory_limit_mb) * MIB,
            pids=self.run_pids,
            cpus=self.run_cpus,
            output_bytes=self.output_bytes,
            tmp_bytes=self.tmp_bytes,
        )


@lru_cache
def get_worker_settings() -> WorkerSettings:
    """The process-wide worker settings, read once."""
    return WorkerSettings()
