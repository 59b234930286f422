"""Re-scoring a whole phase: the organisers' endpoint and ``podium phase rescore``.

On real PostgreSQL: the ``rescore_phase`` job is sent by name, only after the
commit and never on rollback, only for organisers, with an AuditEvent. The CLI
sends it through a real Redis broker. That the worker then scores the stored
predictions without running a container is tested in
``tests/worker/test_rescore_reaper.py``.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from backend.audit.models import AuditEvent
from backend.auth.service import issue_token
from backend.challenges.models import LabelSet
from backend.cli import app as cli
from backend.config import Settings, get_settings
from backend.db import make_engine, make_session_factory
from backend.enums import Role, SubmissionStatus
from backend.errors import DomainError
from backend.jobs import Job, RecordingJobQueue, bind_queue, pending_jobs
from backend.leaderboard import actions
from backend.submissions.models import Submission
from tests.backend.conftest import ACTORS
from tests.backend.factories import make_user
from tests.backend.leaderboard_seed import Seeded, TeamSpec, seed_phase

pytestmark = pytest.mark.postgres

PARADIGMS = ("visible", "combined")


def _seed(session: Session, *, label_versions: dict[str, int] | None = None) -> Seeded:
    """Two teams with one succeeded submission each, and active label sets."""
    seeded = seed_phase(
        session,
        teams=[TeamSpec(name="Alpha", qualities=[0.9]), TeamSpec(name="Bravo", qualities=[0.8])],
        centres={"A": 2},
        paradigms=PARADIGMS,
    )
    versions = {"visible": 1, "combined": 2} if label_versions is None else label_versions
    for paradigm, version in versions.items():
        session.add(
            LabelSet(
                task_id=seeded.task.id,
                paradigm=paradigm,
                version=version,
                sha256=f"{paradigm}-v{version}",
                active=True,
                storage_path=f"labels/{paradigm}/v{version}",
            )
        )
    session.flush()
    return seeded


def _headers(session: Session, settings: Settings, seeded: Seeded) -> dict[str, dict[str, str]]:
    people = {
        "team_a": seeded.users["Alpha"],
        "team_b": seeded.users["Bravo"],
        "organiser": make_user(session, role=Role.ORGANISER),
        "admin": make_user(session, role=Role.ADMIN),
    }
    headers: dict[str, dict[str, str]] = {"anonymous": {}}
    for who, user in people.items():
        token = issue_token(
            session, user=user, name="t", secret_key=settings.secret_key, ttl_days=1
        )[1]
        headers[who] = {"Authorization": f"Bearer {token}"}
    return headers


def _audit(session: Session, phase_id: int) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(
        AuditEvent.action == "phase.rescore", AuditEvent.target_id == str(phase_id)
    )
    return list(session.scalars(stmt))


def test_only_organisers_may_rescore_a_phase_and_the_job_is_sent_by_name(
    client: TestClient, db_session: Session, settings: Settings, jobs: RecordingJobQueue
) -> None:
    seeded = _seed(db_session)
    headers = _headers(db_session, settings, seeded)
    db_session.commit()
    url = f"/api/v1/phases/{seeded.phase.id}/rescore"
    statuses = {who: client.post(url, headers=headers[who]) for who in ACTORS}
    assert {who: r.status_code for who, r in statuses.items()} == {
        "anonymous": 401,
        "team_a": 403,
        "team_b": 403,
        "organiser": 200,
        "admin": 200,
    }
    body = statuses["organiser"].json()
    assert body["ok"] is True
    assert "2 submission(s)" in body["message"]
    assert "visible v1, combined v2" in body["message"]
    expected = Job(task_name="rescore_phase", args=(seeded.phase.id,), queue="evaluation")
    assert jobs.sent == [expected, expected]  # organiser and admin; nobody else
    events = _audit(db_session, seeded.phase.id)
    assert len(events) == 2
    subs = sorted(s.id for team in seeded.submissions.values() for s in team)
    assert events[0].actor_id is not None
    assert events[0].after == {
        "label_set_versions": {"visible": 1, "combined": 2},
        "submissions": subs,
    }
    # Re-scoring touches no submission: they stay succeeded and on the board.
    states = db_session.scalars(select(Submission.status).where(Submission.id.in_(subs)))
    assert set(states) == {SubmissionStatus.SUCCEEDED}


def test_the_job_waits_for_the_commit_and_is_dropped_on_rollback(
    session_factory: sessionmaker[Session],
) -> None:
    queue = RecordingJobQueue()
    with session_factory() as session:
        bind_queue(session, queue)
        seeded = _seed(session)
        session.commit()
        actions.rescore_phase(session, phase_id=seeded.phase.id, actor=None, queue="gpu-a")
        assert [j.task_name for j in pending_jobs(session)] == ["rescore_phase"]
        assert queue.sent == []
        session.rollback()
        assert queue.sent == []
        assert _audit(session, seeded.phase.id) == []
        actions.rescore_phase(session, phase_id=seeded.phase.id, actor=None, queue="gpu-a")
        session.commit()
    assert queue.sent == [Job(task_name="rescore_phase", args=(seeded.phase.id,), queue="gpu-a")]


@pytest.mark.parametrize(
    ("label_versions", "succeeded", "status", "words"),
    [
        ({"visible": 1}, True, 409, "no active label set for combined"),
        (None, False, 409, "no succeeded submission"),
    ],
    ids=["missing-label-set", "nothing-succeeded"],
)
def test_a_phase_that_cannot_be_rescored_is_refused_with_a_reason(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    jobs: RecordingJobQueue,
    label_versions: dict[str, int] | None,
    succeeded: bool,
    status: int,
    words: str,
) -> None:
    seeded = _seed(db_session, label_versions=label_versions)
    if not succeeded:
        for team in seeded.submissions.values():
            for sub in team:
                sub.status = SubmissionStatus.FAILED
    headers = _headers(db_session, settings, seeded)
    db_session.commit()
    r = client.post(f"/api/v1/phases/{seeded.phase.id}/rescore", headers=headers["organiser"])
    assert r.status_code == status
    assert words in r.json()["message"]
    missing = client.post("/api/v1/phases/999999/rescore", headers=headers["organiser"])
    assert missing.status_code == 404
    assert jobs.sent == []
    assert _audit(db_session, seeded.phase.id) == []


def test_service_refuses_an_unknown_phase(db_session: Session) -> None:
    bind_queue(db_session, RecordingJobQueue())
    with pytest.raises(DomainError, match="phase 999999 does not exist"):
        actions.rescore_phase(db_session, phase_id=999999, actor=None, queue="evaluation")


# -- the CLI -----------------------------------------------------------------


@pytest.fixture
def cli_env(
    committing_postgres_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """The CLI's environment: a committed database, the Celery broker and a private queue."""
    queue = f"rescore-test-{uuid.uuid4().hex[:8]}"
    for name, value in {
        "PODIUM_DATABASE_URL": committing_postgres_url,
        "PODIUM_JOB_BACKEND": "celery",
        "PODIUM_BROKER_URL": redis_url,
        "PODIUM_EVALUATION_QUEUE": queue,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    broker = redis.Redis.from_url(redis_url)
    yield queue
    broker.delete(queue)
    broker.close()
    get_settings.cache_clear()


def test_cli_sends_the_rescore_job_through_the_broker(
    cli_env: str, committing_postgres_url: str, redis_url: str
) -> None:
    engine = make_engine(committing_postgres_url)
    try:
        with make_session_factory(engine).begin() as session:
            phase_id = _seed(session).phase.id
            email = make_user(session, role=Role.ORGANISER).email
            participant = make_user(session).email
        runner = CliRunner()
        refused = runner.invoke(cli, ["phase", "rescore", str(phase_id), "--as", participant])
        assert refused.exit_code == 1
        assert f"no organiser {participant}" in refused.output
        result = runner.invoke(cli, ["phase", "rescore", str(phase_id), "--as", email])
        assert result.exit_code == 0, result.output
        assert "2 submission(s) queued for re-scoring" in result.output
        with make_session_factory(engine)() as session:
            (event,) = _audit(session, phase_id)
            assert event.actor_id is not None
    finally:
        engine.dispose()
    broker = redis.Redis.from_url(redis_url)
    try:
        messages = [json.loads(m) for m in broker.lrange(cli_env, 0, -1)]
    finally:
        broker.close()
    assert len(messages) == 1  # the refused call sent nothing
    assert messages[0]["headers"]["task"] == "rescore_phase"
    args, _kwargs, _embed = json.loads(base64.b64decode(messages[0]["body"]))
    assert args == [phase_id]


def test_cli_in_the_embedded_mode_points_at_the_api(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_JOB_BACKEND", "local")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["phase", "rescore", "7"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "POST /api/v1/phases/7/rescore" in result.output
