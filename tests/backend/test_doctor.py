"""``podium doctor``'s cross-checks: queues without consumers, GPU phases without a GPU worker.

The workers' answers are given here (the live broadcast is exercised by the
compose stack test, tests/e2e/test_compose_stack.py); the phases are real rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.ops.doctor import Doctor, Finding, data_root, diagnose, queues, secret_key
from tests.backend.factories import make_phase


@dataclass
class AnsweredDoctor(Doctor):
    """A doctor whose workers' answers are given."""

    reports: dict[str, dict[str, Any]] = field(default_factory=dict)
    queue_consumers: dict[str, list[str]] = field(default_factory=dict)

    def workers(self) -> dict[str, dict[str, Any]]:
        return self.reports

    def consumers(self) -> dict[str, list[str]]:
        return self.queue_consumers


def _statuses(findings: list[Finding]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for finding in findings:
        out.setdefault(finding.check, []).append(finding.status)
    return out


def _doctor(settings: Settings, factory: sessionmaker[Session], **answers: Any) -> AnsweredDoctor:
    return AnsweredDoctor(settings=settings, session_factory=factory, **answers)


def test_a_gpu_phase_whose_queue_has_no_gpu_worker_fails(
    db_session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    gpu_phase = make_phase(db_session)
    gpu_phase.gpu = True
    gpu_phase.queue = "gpu-h100"
    cpu_phase = make_phase(db_session)
    cpu_phase.gpu = False
    db_session.flush()
    doctor = _doctor(
        settings,
        session_factory,
        reports={"cpu0@a": {"gpu_usable": False}, "gpu0@b": {"gpu_usable": False}},
        queue_consumers={settings.evaluation_queue: ["cpu0@a"], "gpu-h100": ["gpu0@b"]},
    )
    findings = diagnose(doctor, [queues])
    by_check = _statuses(findings)
    assert by_check[f"queue {settings.evaluation_queue}"] == ["ok"]
    assert by_check["queue gpu-h100"] == ["ok", "fail"]
    (failure,) = [f for f in findings if f.status == "fail"]
    assert gpu_phase.slug in failure.detail
    assert "deployment faults" in failure.detail
    doctor.reports["gpu0@b"]["gpu_usable"] = True
    assert all(f.status == "ok" for f in diagnose(doctor, [queues]))


def test_an_open_phase_on_a_queue_nobody_consumes_fails(
    db_session: Session, session_factory: sessionmaker[Session], settings: Settings
) -> None:
    phase = make_phase(db_session)
    phase.gpu = False
    phase.queue = "forgotten"
    db_session.flush()
    doctor = _doctor(
        settings,
        session_factory,
        reports={"cpu0@a": {"gpu_usable": False}},
        queue_consumers={settings.evaluation_queue: ["cpu0@a"]},
    )
    (finding,) = [f for f in diagnose(doctor, [queues]) if f.check == "queue forgotten"]
    assert finding.status == "fail"
    assert phase.slug in finding.detail


def test_secret_key_and_data_root(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    short = settings.model_copy(update={"secret_key": "short-but-not-a-placeholder"})
    assert _statuses(diagnose(_doctor(short, session_factory), [secret_key])) == {
        "secret key": ["warn"]
    }
    missing = settings.model_copy(update={"data_root": tmp_path / "nowhere"})
    (finding,) = diagnose(_doctor(missing, session_factory), [data_root])
    assert finding.status == "fail"
    assert "does not exist" in finding.detail


def test_a_check_that_raises_is_a_failure_not_a_crash(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    def broken(doctor: Doctor):
        raise RuntimeError("registry unreachable")

    (finding,) = diagnose(_doctor(settings, session_factory), [broken])
    assert finding == Finding("broken", "fail", "RuntimeError: registry unreachable")
