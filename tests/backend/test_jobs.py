"""Enqueue-after-commit at the session level (SQLite and PostgreSQL behave alike here)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from backend.db import make_session_factory, utcnow
from backend.jobs import (
    EVALUATE_SUBMISSION,
    CeleryJobQueue,
    Job,
    LocalJobQueue,
    RecordingJobQueue,
    bind_queue,
    enqueue,
    pending_jobs,
)
from tests.backend.factories import make_phase, make_submission, make_team
from tests.support.fake_runner import FakeRunner
from tests.support.worker import dispose, make_context
from worker.reaper import reap_stuck


@pytest.fixture
def session(sqlite_url: str, engine_for: Callable[[str], Engine]) -> Session:
    return make_session_factory(engine_for(sqlite_url))()


def test_sent_only_after_commit(session: Session) -> None:
    queue = RecordingJobQueue()
    bind_queue(session, queue)
    session.execute(text("SELECT 1"))
    enqueue(session, task_name="evaluate_submission", args=[7], queue="gpu")
    assert queue.sent == []
    session.commit()
    assert queue.sent == [Job("evaluate_submission", (7,), "gpu")]


def test_dropped_on_rollback(session: Session) -> None:
    queue = RecordingJobQueue()
    bind_queue(session, queue)
    session.execute(text("SELECT 1"))
    enqueue(session, task_name="evaluate_submission", args=[7], queue="gpu")
    session.rollback()
    session.commit()  # a later commit must not resurrect the dropped job
    assert queue.sent == []
    assert pending_jobs(session) == []


def test_savepoint_rollback_keeps_the_outer_transactions_jobs(session: Session) -> None:
    queue = RecordingJobQueue()
    bind_queue(session, queue)
    session.execute(text("SELECT 1"))
    enqueue(session, task_name="a", args=[1], queue="q")
    savepoint = session.begin_nested()
    session.execute(text("SELECT 1"))
    savepoint.rollback()
    session.commit()
    assert [j.task_name for j in queue.sent] == ["a"]


def test_session_without_queue_refuses_to_enqueue(session: Session) -> None:
    with pytest.raises(RuntimeError, match="bind_queue"):
        enqueue(session, task_name="a", args=[], queue="q")


def test_local_queue_runs_registered_handlers_and_records_the_rest() -> None:
    queue = LocalJobQueue()
    seen: list[int] = []
    queue.register("evaluate_submission", seen.append)
    queue.send(Job("evaluate_submission", (3,), "q"))
    queue.send(Job("unknown", (4,), "q"))
    queue.shutdown()
    assert seen == [3]
    assert [j.task_name for j in queue.unhandled] == ["unknown"]


def test_a_broker_failure_after_commit_leaves_the_row_for_the_sweep_to_resend(
    session: Session, sqlite_url: str, tmp_path: Path
) -> None:
    tried: list[Job] = []

    class Broken:
        def send(self, job: Job) -> None:
            tried.append(job)
            raise ConnectionError("broker down")

    bind_queue(session, Broken())
    phase = make_phase(session)
    submission = make_submission(
        session, team=make_team(session, challenge_id=phase.task.challenge_id), phase=phase
    )
    submission.queue = "gpu-a"
    enqueue(session, task_name=EVALUATE_SUBMISSION, args=[submission.id], queue="gpu-a")
    session.commit()  # the row is committed; the failed send is logged, not raised
    assert tried == [Job(EVALUATE_SUBMISSION, (submission.id,), "gpu-a")]
    # Once its message would have run out, the reaper's sweep sends it again, to its queue.
    context = make_context(
        database_url=sqlite_url,
        data_root=tmp_path / "data",
        work_dir=tmp_path / "work",
        runner=FakeRunner(),
    )
    later = utcnow() + timedelta(seconds=context.settings.task_time_limit_s + 1)
    sent: list[tuple[int, str]] = []
    try:
        actions = reap_stuck(send=lambda i, q: sent.append((i, q)), context=context, now=later)
        assert actions == [(submission.id, "resent")]
        assert sent == [(submission.id, "gpu-a")]
        # Resent means touched: the next sweep leaves it alone.
        assert reap_stuck(send=lambda i, q: sent.append((i, q)), context=context) == []
    finally:
        dispose(context)


@pytest.mark.redis
def test_celery_queue_sends_by_task_name_to_the_named_queue(redis_url: str) -> None:
    queue_name = f"test-evaluation-{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(redis_url)
    try:
        CeleryJobQueue(redis_url).send(Job("evaluate_submission", (42,), queue_name))
        raw = client.lpop(queue_name)
        assert raw is not None, "nothing arrived on the queue"
        message = json.loads(raw)
        assert message["headers"]["task"] == "evaluate_submission"
        assert message["headers"]["argsrepr"] in ("[42]", "(42,)")
    finally:
        client.delete(queue_name)
        client.close()
