"""``podium doctor``: what is misconfigured in a deployment, each finding in words to act on.

Run it in the API container (``docker compose exec api podium doctor``). Checks
of this process (secret key, data root, database, broker, storage) run here;
checks of the worker hosts (Docker engine, GPU runtime, data root mounted at the
same path for sibling containers) are asked of every live worker by a Celery
broadcast (``podium_doctor``, answered by :mod:`worker.doctor`), by name, as
tasks are sent; with those answers come the cross-checks: queues with open
phases and no consumer, GPU phases whose queue has no worker with a usable GPU.

Adding a check is one function registered with :func:`check`: it gets the
:class:`Doctor` and yields :class:`Finding` s (e.g. the registry's reachability).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from celery import Celery
from sqlalchemy.orm import Session, sessionmaker

from backend.config import PLACEHOLDER_SECRETS, Settings
from backend.ops import repository
from backend.ops.readiness import check_broker, check_database
from backend.storage import StorageError, make_storage

Status = Literal["ok", "warn", "fail", "skip"]
#: The Celery broadcast command every worker answers with its own findings.
WORKER_COMMAND = "podium_doctor"
REPLY_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class Finding:
    """One check's verdict: ``ok``, ``warn`` (works, but risky), ``fail`` or ``skip``."""

    check: str
    status: Status
    detail: str

    def line(self) -> str:
        """``[FAIL] gpu: ...`` as the CLI prints it."""
        return f"[{self.status.upper():>4}] {self.check}: {self.detail}"


@dataclass
class Doctor:
    """What the checks look at; the workers' answers are asked for once, on first use."""

    settings: Settings
    session_factory: sessionmaker[Session]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    _workers: dict[str, dict[str, Any]] | None = None
    _queues: dict[str, list[str]] | None = None

    def _celery(self) -> Celery:
        return Celery("podium-doctor", broker=self.settings.broker_url)

    def workers(self) -> dict[str, dict[str, Any]]:
        """Each live worker's report (``worker.doctor.report``), by Celery node name."""
        if self._workers is None:
            app = self._celery()
            try:
                replies = app.control.broadcast(WORKER_COMMAND, reply=True, timeout=REPLY_TIMEOUT_S)
            finally:
                app.close()
            self._workers = {node: report for reply in replies for node, report in reply.items()}
        return self._workers

    def consumers(self) -> dict[str, list[str]]:
        """Queue name → the worker nodes consuming it."""
        if self._queues is None:
            app = self._celery()
            try:
                active = app.control.inspect(timeout=REPLY_TIMEOUT_S).active_queues() or {}
            finally:
                app.close()
            queues: dict[str, list[str]] = {}
            for node, entries in active.items():
                for entry in entries:
                    queues.setdefault(str(entry["name"]), []).append(node)
            self._queues = queues
        return self._queues

    def open_routes(self) -> list[tuple[str, str, bool]]:
        """``(phase, queue, gpu)`` of the open phases, the default queue filled in."""
        with self.session_factory() as session:
            routes = repository.open_phase_routes(session, now=self.now)
        return [(p, q or self.settings.evaluation_queue, gpu) for p, q, gpu in routes]


Check = Callable[[Doctor], Iterable[Finding]]
CHECKS: list[Check] = []


def check(function: Check) -> Check:
    """Register ``function`` as a check (run in registration order)."""
    CHECKS.append(function)
    return function


@check
def secret_key(doctor: Doctor) -> Iterator[Finding]:
    """Not a placeholder, and long enough to be a secret."""
    key = doctor.settings.secret_key.strip()
    if key in PLACEHOLDER_SECRETS:
        yield Finding("secret key", "fail", "PODIUM_SECRET_KEY is a placeholder: set it in .env")
    elif len(key) < 32:
        yield Finding("secret key", "warn", f"PODIUM_SECRET_KEY has only {len(key)} characters")
    else:
        yield Finding("secret key", "ok", "set")


@check
def data_root(doctor: Doctor) -> Iterator[Finding]:
    """The data root exists, and this process (uid 10001 in the images) may write it."""
    root = Path(doctor.settings.data_root)
    if not root.is_dir():
        yield Finding("data root", "fail", f"{root} does not exist (PODIUM_DATA_ROOT)")
        return
    yield _writable("data root", root)


def _writable(name: str, folder: Path) -> Finding:
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".podium-doctor-"):
            pass
    except OSError as exc:
        owner = folder.stat().st_uid
        return Finding(
            name,
            "fail",
            f"{folder} is not writable by uid {os.getuid()} (owner uid {owner}): "
            f"sudo chown -R {os.getuid()}:{os.getgid()} {folder} ({exc.strerror})",
        )
    return Finding(name, "ok", f"{folder} writable by uid {os.getuid()}")


@check
def database_and_broker(doctor: Doctor) -> Iterator[Finding]:
    """The database and the broker answer."""
    for result in (check_database(doctor.session_factory), check_broker(doctor.settings)):
        yield Finding(result.name, "ok" if result.ok else "fail", result.detail)


@check
def storage(doctor: Doctor) -> Iterator[Finding]:
    """The object store answers (S3; the filesystem is the data root check)."""
    if doctor.settings.storage_backend != "s3":
        yield Finding("storage", "ok", f"filesystem under {doctor.settings.data_root}")
        return
    try:
        make_storage(doctor.settings).exists("podium-doctor-probe")
    except (StorageError, ValueError) as exc:
        yield Finding("storage", "fail", str(exc))
    else:
        yield Finding("storage", "ok", f"s3 bucket {doctor.settings.s3_bucket} answers")


@check
def workers(doctor: Doctor) -> Iterator[Finding]:
    """Each live worker's own findings (engine, GPU runtime, same-path data root)."""
    reports = doctor.workers()
    if not reports:
        yield Finding("workers", "fail", "no worker answered: none is running, or none "
                      "reaches the broker")  # fmt: skip
        return
    for node, report in sorted(reports.items()):
        for item in report.get("findings", []):
            yield Finding(f"{node}: {item['check']}", item["status"], item["detail"])


@check
def queues(doctor: Doctor) -> Iterator[Finding]:
    """Every open phase's queue has a consumer; GPU phases have one with a usable GPU."""
    consumers = doctor.consumers()
    reports = doctor.workers()
    routes = doctor.open_routes()
    for queue in sorted({q for _, q, _ in routes} | {doctor.settings.evaluation_queue}):
        phases = [p for p, q, _ in routes if q == queue]
        nodes = consumers.get(queue, [])
        if not nodes:
            status: Status = "fail" if phases else "warn"
            waiting = f" (open phases: {', '.join(phases)})" if phases else ""
            yield Finding(f"queue {queue}", status, f"no worker consumes it{waiting}")
            continue
        yield Finding(f"queue {queue}", "ok", f"consumed by {', '.join(sorted(nodes))}")
        gpu_phases = [p for p, q, gpu in routes if q == queue and gpu]
        with_gpu = [n for n in nodes if reports.get(n, {}).get("gpu_usable")]
        if gpu_phases and not with_gpu:
            yield Finding(
                f"queue {queue}",
                "fail",
                f"GPU phases {', '.join(gpu_phases)} go to it, but none of its workers has a "
                "usable GPU (PODIUM_GPUS set and the engine's nvidia runtime): their runs "
                "would be refunded as deployment faults",
            )


def diagnose(doctor: Doctor, checks: Iterable[Check] | None = None) -> list[Finding]:
    """Run every check; a check that raises is a ``fail`` naming the error."""
    findings: list[Finding] = []
    for run in CHECKS if checks is None else checks:
        try:
            findings += list(run(doctor))
        except Exception as exc:
            name = run.__name__.replace("_", " ")
            findings.append(Finding(name, "fail", f"{type(exc).__name__}: {exc}"))
    return findings
