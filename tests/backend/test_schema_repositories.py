"""The migrated schema and the worker-facing repository functions, on PostgreSQL and SQLite."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlalchemy.orm import Session

from backend.db import make_session_factory
from backend.enums import SubmissionStatus
from backend.models import Base
from backend.submissions import repository as subs
from tests.backend.factories import make_case, make_phase, make_submission, make_team


def test_migration_matches_models(db_session: Session) -> None:
    """``alembic upgrade head`` builds exactly what the models declare (no drift)."""
    tables = set(inspect(db_session.connection()).get_table_names())
    assert set(Base.metadata.tables) <= tables
    context = MigrationContext.configure(db_session.connection(), opts={"compare_type": True})
    assert compare_metadata(context, Base.metadata) == []


def test_sqlite_migration_matches_models(
    sqlite_url: str, engine_for: Callable[[str], Engine]
) -> None:
    with engine_for(sqlite_url).connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, Base.metadata) == []


def _exercise_worker_repository(session: Session) -> None:
    phase = make_phase(session, submission_limit=2)
    team = make_team(session, challenge_id=phase.task.challenge_id)
    sub = make_submission(session, team=team, phase=phase)
    assert sub.slot == 1
    locked = subs.get_submission_for_update(session, sub.id)
    assert locked is sub
    subs.set_status(session, sub, status=SubmissionStatus.QUEUED)
    subs.set_status(session, sub, status=SubmissionStatus.RUNNING)
    evaluation = subs.create_evaluation(
        session, submission_id=sub.id, label_sets={}, scorer_version="test"
    )
    case = make_case(session, phase=phase, key="c1")
    for dice in (0.5, 0.75):  # a re-run overwrites
        subs.upsert_case_score(
            session,
            evaluation_id=evaluation.id,
            case_id=case.id,
            paradigm="lesion",
            result={"case_id": "c1", "status": "ok", "dice": dice},
        )
    scores = subs.case_scores(session, evaluation.id)
    session.refresh(scores[0])
    assert [(s.dice, s.result["dice"]) for s in scores] == [(0.75, 0.75)]
    subs.set_status(session, sub, status=SubmissionStatus.ERROR, failure_class="infrastructure")
    assert sub.slot is None
    assert sub.finished_at is not None
    assert [e.change for e in subs.quota_ledger(session, team_id=team.id, phase_id=phase.id)] == [
        -1,
        1,
    ]
    # the refunded slot number is free again
    again = make_submission(session, team=team, phase=phase)
    assert again.slot == 1
    assert subs.refund_slot(session, sub, reason="twice") is False


def test_worker_repository_postgres(db_session: Session) -> None:
    _exercise_worker_repository(db_session)


def test_worker_repository_sqlite(sqlite_url: str, engine_for: Callable[[str], Engine]) -> None:
    session = make_session_factory(engine_for(sqlite_url))()
    try:
        _exercise_worker_repository(session)
        session.commit()
    finally:
        session.close()


def test_naive_datetimes_are_refused(db_session: Session) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        make_phase(db_session, opens_at=datetime(2026, 1, 1))


def test_timestamps_come_back_in_utc(sqlite_url: str, engine_for: Callable[[str], Engine]) -> None:
    factory = make_session_factory(engine_for(sqlite_url))
    opens = datetime(2026, 3, 1, 12, tzinfo=UTC)
    with factory() as session:
        phase = make_phase(session, opens_at=opens, closes_at=opens + timedelta(days=1))
        session.commit()
        phase_id = phase.id
    with factory() as session:
        loaded = session.get(type(phase), phase_id)
        assert loaded is not None
        assert loaded.opens_at == opens
        assert loaded.opens_at.tzinfo is not None
