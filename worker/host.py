"""What a worker host has, found once at start: its GPUs, the engine's GPU runtime, its deployment.

* ``PODIUM_GPUS`` says which GPUs this worker hands to containers; the engine
  says whether it can (NVIDIA's runtime registered). A worker whose GPUs cannot
  be used is a GPU-less worker, and says so loudly at start.
* A run of a ``gpu: true`` phase delivered to a GPU-less worker is refused before
  any container starts, as a :class:`~worker.runner.base.DeploymentError`: retried
  on its queue (another worker of the class may take it), then refunded with a
  message naming the deployment fault, never charged to the team.
* Run containers are named ``{prefix}-sub-{id}-{attempt}``. Two deployments
  sharing an engine must not share a prefix (submission ids restart in each
  database, and a worker removes leftovers of its names), so an unset
  ``PODIUM_CONTAINER_PREFIX`` becomes the worker's compose project name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import structlog

from worker.config import WorkerSettings
from worker.runner.base import DeploymentError, InfrastructureError

log = structlog.get_logger(__name__)

COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
DEFAULT_PREFIX = "podium"


@runtime_checkable
class EngineFacts(Protocol):
    """What :class:`~worker.runner.docker.DockerRunner` can tell about its engine."""

    def gpu_runtime(self) -> bool:
        """Whether NVIDIA's runtime is registered."""
        ...

    def own_container(self) -> dict[str, Any] | None:
        """``docker inspect`` of the container this process runs in, if any."""
        ...


@dataclass(frozen=True, slots=True)
class HostFacts:
    """A worker's GPUs as configured and as the engine can serve them.

    Attributes
    ----------
    gpu_ids
        ``PODIUM_GPUS``: the device IDs handed to containers.
    nvidia_runtime
        Whether the engine has NVIDIA's runtime; ``None`` when it was not asked
        (no GPU configured) or could not be.
    """

    gpu_ids: tuple[str, ...]
    nvidia_runtime: bool | None

    @property
    def has_gpu(self) -> bool:
        """GPUs configured and an engine that can hand them to containers."""
        return bool(self.gpu_ids) and self.nvidia_runtime is not False

    @property
    def misconfigured(self) -> str | None:
        """Why configured GPUs cannot be used, or ``None``."""
        if self.gpu_ids and self.nvidia_runtime is False:
            return (
                f"PODIUM_GPUS={','.join(self.gpu_ids)} but the Docker engine has no nvidia "
                "runtime: install the NVIDIA container toolkit and run `nvidia-ctk runtime "
                "configure --runtime=docker` on this host"
            )
        return None

    def refusal(self, *, needs_gpu: bool, worker: str, queue: str) -> str | None:
        """The deployment fault of running a run here, or ``None`` when it may run.

        Examples
        --------
        >>> HostFacts(gpu_ids=(), nvidia_runtime=False).refusal(
        ...     needs_gpu=True, worker="cpu0", queue="evaluation")  # doctest: +ELLIPSIS
        'this phase needs a GPU, but worker cpu0 (queue evaluation) has none (PODIUM_GPUS ...'
        >>> HostFacts(gpu_ids=("0",), nvidia_runtime=True).refusal(
        ...     needs_gpu=True, worker="gpu0", queue="a100") is None
        True
        >>> HostFacts(gpu_ids=(), nvidia_runtime=False).refusal(
        ...     needs_gpu=False, worker="cpu0", queue="evaluation") is None
        True
        """
        if not needs_gpu or self.has_gpu:
            return None
        why = self.misconfigured or "PODIUM_GPUS is empty"
        return (
            f"this phase needs a GPU, but worker {worker} (queue {queue}) has none ({why}): "
            "a deployment fault. Give the phase the queue of a GPU host class (`queue:` in "
            "the challenge file), or stop GPU-less workers consuming that queue"
        )


def detect(settings: WorkerSettings, engine: object) -> HostFacts:
    """This worker's :class:`HostFacts`.

    An engine that does not answer, or a runner that cannot ask one (a test
    double), leaves the runtime unknown: configured GPUs are then trusted.
    """
    if not settings.gpu_ids:
        return HostFacts(gpu_ids=(), nvidia_runtime=None)
    if not isinstance(engine, EngineFacts):
        return HostFacts(gpu_ids=settings.gpu_ids, nvidia_runtime=None)
    try:
        runtime: bool | None = engine.gpu_runtime()
    except InfrastructureError as exc:
        log.warning("worker.gpu_runtime_unknown", error=str(exc))
        runtime = None
    return HostFacts(gpu_ids=settings.gpu_ids, nvidia_runtime=runtime)


def prefix_from_project(project: str) -> str:
    """A compose project name as a container-name prefix (the settings' pattern).

    Examples
    --------
    >>> prefix_from_project("Podium_Trials")
    'podium-trials'
    >>> prefix_from_project("_x")
    'x'
    """
    cleaned = re.sub(r"[^a-z0-9-]+", "-", project.lower()).strip("-")
    return cleaned[:31].rstrip("-") or DEFAULT_PREFIX


def container_prefix(settings: WorkerSettings, engine: object) -> str:
    """``PODIUM_CONTAINER_PREFIX``, else this worker's compose project, else ``podium``."""
    if settings.container_prefix:
        return settings.container_prefix
    if not isinstance(engine, EngineFacts):
        return DEFAULT_PREFIX
    try:
        attrs = engine.own_container() or {}
        project = ((attrs.get("Config") or {}).get("Labels") or {}).get(COMPOSE_PROJECT_LABEL)
    except InfrastructureError as exc:
        log.warning("worker.compose_project_unknown", error=str(exc))
        project = None
    return prefix_from_project(project) if project else DEFAULT_PREFIX


def refuse_if_unfit(facts: HostFacts, *, needs_gpu: bool, settings: WorkerSettings) -> None:
    """Raise :class:`DeploymentError` when this worker cannot give the run what it needs."""
    reason = facts.refusal(
        needs_gpu=needs_gpu, worker=settings.worker_name, queue=settings.worker_queue
    )
    if reason is not None:
        raise DeploymentError(reason)
