"""A worker's answer to ``podium doctor``: what this host has, and what is wrong with it.

Registered as the Celery remote-control command ``podium_doctor``
(:data:`backend.ops.doctor.WORKER_COMMAND`), answered by the worker's main
process, so a worker busy with a run answers too. The report is plain JSON:
``{"worker", "queue", "gpu_usable", "findings": [{"check", "status", "detail"}]}``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from celery.worker.control import control_command

from worker.config import WorkerSettings, get_worker_settings
from worker.host import EngineFacts, container_prefix, detect
from worker.runner.base import InfrastructureError
from worker.runner.docker import DockerRunner


def _finding(check: str, status: str, detail: str) -> dict[str, str]:
    return {"check": check, "status": status, "detail": detail}


def mount_finding(attrs: dict[str, Any] | None, folder: Path) -> dict[str, str]:
    """Whether ``folder`` is at the same path on the host (runs bind-mount from it).

    Examples
    --------
    >>> mount_finding(None, Path("/srv/podium"))["status"]
    'ok'
    >>> same = {"Mounts": [{"Type": "bind", "Source": "/srv/podium", "Destination": "/srv/podium"}]}
    >>> mount_finding(same, Path("/srv/podium/work"))["status"]
    'ok'
    >>> moved = {"Mounts": [{"Type": "bind", "Source": "/data", "Destination": "/srv/podium"}]}
    >>> print(mount_finding(moved, Path("/srv/podium"))["detail"])  # doctest: +ELLIPSIS
    /srv/podium is mounted from /data on the host: ...
    """
    name = "data root path"
    if attrs is None:
        return _finding(name, "ok", f"{folder}: this worker runs on the host itself")
    target = PurePosixPath(folder)
    covering = [
        m
        for m in attrs.get("Mounts", [])
        if target == PurePosixPath(m["Destination"])
        or PurePosixPath(m["Destination"]) in target.parents
    ]
    if not covering:
        return _finding(
            name,
            "fail",
            f"{folder} is inside the worker's container, not mounted from the host: runs "
            "could not see their inputs; mount the data root at the same path",
        )
    mount = max(covering, key=lambda m: len(m["Destination"]))
    if mount.get("Type") != "bind" or mount["Source"] != mount["Destination"]:
        where = mount["Source"] if mount.get("Type") == "bind" else f"volume {mount.get('Name')}"
        return _finding(
            name,
            "fail",
            f"{mount['Destination']} is mounted from {where} on the host: the engine "
            "resolves a run's /input on the host, so mount it at the same path "
            f"(- {mount['Destination']}:{mount['Destination']})",
        )
    return _finding(name, "ok", f"{folder} is at the same path on the host")


def report(settings: WorkerSettings, engine: EngineFacts) -> dict[str, Any]:
    """This worker's findings (engine, GPUs, data root, scratch, container prefix)."""
    findings = []
    try:
        attrs = engine.own_container()
        findings.append(_finding("docker engine", "ok", "answers"))
    except InfrastructureError as exc:
        findings.append(_finding("docker engine", "fail", str(exc)))
        attrs = None
    facts = detect(settings, engine)
    if facts.misconfigured:
        findings.append(_finding("gpu", "fail", facts.misconfigured))
    elif facts.has_gpu:
        findings.append(_finding("gpu", "ok", f"GPUs {','.join(facts.gpu_ids)}, nvidia runtime"))
    else:
        findings.append(_finding("gpu", "ok", "none (PODIUM_GPUS empty): CPU phases only"))
    findings.append(mount_finding(attrs, settings.scratch_dir))
    for name, folder in (("data root", settings.data_root), ("scratch", settings.scratch_dir)):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".podium-doctor-"):
                pass
            findings.append(_finding(name, "ok", f"{folder} writable by uid {os.getuid()}"))
        except OSError as exc:
            findings.append(
                _finding(
                    name,
                    "fail",
                    f"{folder} is not writable by uid {os.getuid()}: {exc.strerror}; "
                    f"sudo chown -R {os.getuid()}:{os.getgid()} {folder} on the host",
                )
            )
    findings.append(
        _finding("container prefix", "ok", f"{container_prefix(settings, engine)}-sub-…")
    )
    return {
        "worker": settings.worker_name,
        "queue": settings.worker_queue,
        "gpu_usable": facts.has_gpu,
        "findings": findings,
    }


def _podium_doctor(state: Any, **_: Any) -> dict[str, Any]:
    """The remote-control command: this worker's report."""
    return report(get_worker_settings(), DockerRunner())


# Celery's decorator is untyped; registering by call keeps mypy's checks on the function.
control_command(name="podium_doctor")(_podium_doctor)
