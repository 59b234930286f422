"""``/readyz`` and ``/metrics`` against real PostgreSQL, Redis and the Docker engine."""

from __future__ import annotations

import json
import logging
import socket
from pathlib import Path
from typing import Any

import pytest
import redis
import structlog
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.enums import SubmissionStatus
from backend.jobs import RecordingJobQueue
from backend.logs import configure_logging
from backend.main import create_app
from backend.ops.instruments import observe_evaluation
from tests.backend.conftest import World
from tests.backend.factories import make_submission
from worker import tasks
from worker.timings import Timings
from worker.transitions import Outcome

pytestmark = pytest.mark.postgres

DOCKER_SOCKET = Path("/var/run/docker.sock")


def _client(settings: Settings, factory: sessionmaker[Session], **changes: Any) -> TestClient:
    app = create_app(
        settings.model_copy(update=changes),
        session_factory=factory,
        job_queue=RecordingJobQueue(),
        configure_logs=False,
    )
    return TestClient(app, raise_server_exceptions=False)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


# --- /readyz -------------------------------------------------------------------------


@pytest.mark.docker
def test_readyz_is_ready_when_database_and_engine_answer(
    settings: Settings, session_factory: sessionmaker[Session], docker_client: Any
) -> None:
    with _client(settings, session_factory, docker_socket=DOCKER_SOCKET) as client:
        response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "broker": "skipped (embedded job queue)", "docker": "ok"},
    }


def test_readyz_names_a_missing_docker_engine(
    settings: Settings, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    missing = tmp_path / "docker.sock"
    with _client(settings, session_factory, docker_socket=missing) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["message"] == f"not ready: docker: no Docker engine socket at {missing}"
    assert body["detail"]["checks"]["database"] == "ok"


def test_readyz_names_a_socket_that_is_not_an_engine(
    settings: Settings, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    path = tmp_path / "silent.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(1)
    try:
        # Nothing ever accepts: the probe must time out with a reason, not hang.
        with _client(settings, session_factory, docker_socket=path) as client:
            response = client.get("/readyz")
    finally:
        listener.close()
    assert response.status_code == 503
    assert response.json()["message"].startswith(f"not ready: docker: {path}: ")


def test_readyz_skips_docker_when_workers_run_the_containers(
    settings: Settings, session_factory: sessionmaker[Session], redis_url: str, tmp_path: Path
) -> None:
    with _client(
        settings,
        session_factory,
        job_backend="celery",
        broker_url=redis_url,
        docker_socket=tmp_path / "absent.sock",
    ) as client:
        response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json()["checks"] == {
        "database": "ok",
        "broker": "ok",
        "docker": "skipped (evaluations run on the workers)",
    }


def test_readyz_names_an_unreachable_broker(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    with _client(
        settings,
        session_factory,
        job_backend="celery",
        broker_url="redis://127.0.0.1:9/0",
        ready_check_docker=False,
    ) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["message"].startswith("not ready: broker: ConnectionError")
    assert body["detail"]["checks"]["database"] == "ok"


def test_readyz_names_an_unreachable_database(settings: Settings) -> None:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/podium?connect_timeout=2")
    with _client(settings, make_session_factory(engine), ready_check_docker=False) as client:
        response = client.get("/readyz")
        health = client.get("/healthz")
    engine.dispose()
    assert response.status_code == 503
    assert response.json()["message"].startswith("not ready: database: OperationalError")
    assert health.status_code == 200  # liveness does not depend on the database


# --- /metrics ------------------------------------------------------------------------


def _set(db_session: Session, world: World, states: list[SubmissionStatus]) -> None:
    team = world.team_a
    for status in states:
        sub = make_submission(db_session, team=team, phase=world.phase)
        sub.status = status
        if status == SubmissionStatus.SUCCEEDED:
            sub.runtime_s = 4.0
        if status == SubmissionStatus.FAILED:
            sub.runtime_s = 700.0
        team = world.team_b if team is world.team_a else world.team_a
    db_session.commit()


def test_metrics_count_submissions_from_the_database(
    client: TestClient, db_session: Session, world: World
) -> None:
    world.phase.submission_limit = 10
    _set(
        db_session,
        world,
        [
            SubmissionStatus.QUEUED,
            SubmissionStatus.QUEUED,
            SubmissionStatus.QUEUED,
            SubmissionStatus.RUNNING,
            SubmissionStatus.PREFLIGHT,
            SubmissionStatus.SUCCEEDED,
            SubmissionStatus.FAILED,
        ],
    )
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    values = _samples(response.text)
    state = {
        s.value: values[("podium_submissions", (("state", s.value),))] for s in SubmissionStatus
    }
    assert state == {
        "queued": 3,
        "preflight": 1,
        "running": 1,
        "scoring": 0,
        "succeeded": 1,
        "failed": 1,
        "failed_preflight": 0,
        "error": 0,
        "cancelled": 0,
    }
    assert values[("podium_queue_length", ())] == 3
    assert values[("podium_running_containers", ())] == 2
    assert values[("podium_database_up", ())] == 1
    runtime = "podium_submission_runtime_seconds"
    assert values[(f"{runtime}_count", ())] == 2
    assert values[(f"{runtime}_sum", ())] == 704.0
    assert values[(f"{runtime}_bucket", (("le", "5.0"),))] == 1
    assert values[(f"{runtime}_bucket", (("le", "600.0"),))] == 1
    assert values[(f"{runtime}_bucket", (("le", "1800.0"),))] == 2
    # Not a Celery deployment: no broker gauge.
    assert not any(name == "podium_broker_queue_length" for name, _ in values)


def test_metrics_show_the_worker_durations(client: TestClient) -> None:
    def counts() -> tuple[float, float]:
        values = _samples(client.get("/metrics").text)
        return (
            values[("podium_container_seconds_count", ())],
            values[("podium_scoring_seconds_count", ())],
        )

    before = counts()
    observe_evaluation(container_s=3.5, scoring_s=0.0)  # scoring never ran: not observed
    assert counts() == (before[0] + 1, before[1])


def test_metrics_read_the_broker_queue(
    settings: Settings, session_factory: sessionmaker[Session], redis_url: str
) -> None:
    queue = "podium-test-ops-metrics"
    broker = redis.Redis.from_url(redis_url)
    broker.delete(queue)
    broker.rpush(queue, "a", "b", "c")
    try:
        with _client(
            settings,
            session_factory,
            job_backend="celery",
            broker_url=redis_url,
            evaluation_queue=queue,
        ) as client:
            values = _samples(client.get("/metrics").text)
    finally:
        broker.delete(queue)
        broker.close()
    assert values[("podium_broker_queue_length", (("queue", queue),))] == 3


def test_metrics_report_a_database_that_does_not_answer(settings: Settings) -> None:
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/podium?connect_timeout=2")
    with _client(settings, make_session_factory(engine)) as client:
        response = client.get("/metrics")
    engine.dispose()
    assert response.status_code == 200
    values = _samples(response.text)
    assert values[("podium_database_up", ())] == 0
    assert not any(name == "podium_submissions" for name, _ in values)


# --- logs ----------------------------------------------------------------------------


def test_every_worker_log_line_carries_the_submission_id(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fake_evaluate(submission_id: int, **_: Any) -> Outcome:
        # Any module's logger, without passing the id: it must come from the context.
        structlog.get_logger("worker.somewhere").warning("evaluation.step")
        return Outcome(status="succeeded", timings=Timings(run=2.0, score=0.5))

    before, root = structlog.get_config(), logging.getLogger()
    handlers, level = list(root.handlers), root.level
    monkeypatch.setattr(tasks, "evaluate", fake_evaluate)
    try:
        configure_logging(level="INFO", json=True)
        assert tasks.run_embedded(41) == "succeeded"
        structlog.get_logger("worker.after").warning("unrelated")
    finally:
        structlog.configure(**before)
        root.handlers, root.level = handlers, level
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    assert [(line["event"], line.get("submission_id")) for line in lines] == [
        ("evaluation.step", 41),
        ("unrelated", None),  # the binding ends with the task
    ]
