"""Boards read each case score's summary: the result without its per-lesion list.

The writer derives it, the migration backfills it, on PostgreSQL and SQLite.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from backend.db import make_session_factory
from backend.leaderboard import repository
from backend.submissions import repository as subs
from backend.submissions.models import CaseScore
from tests.backend.leaderboard_seed import TeamSpec, seed_phase
from tests.fixtures.database import REPO_ROOT, alembic_upgrade

LESIONS = [{"pred_id": 1, "ref_id": 2, "iou": 0.5000000000000001, "dice": 0.7}]


def _check(session: Session) -> None:
    seed_phase(session, teams=[TeamSpec(name="A", qualities=[0.8])], centres={"C": 3})
    session.flush()
    for row in session.scalars(select(CaseScore)).all():
        assert "lesions" not in row.summary  # seeded rows: derived on insert
        subs.upsert_case_score(  # the worker's writer replaces the result
            session,
            evaluation_id=row.evaluation_id,
            case_id=row.case_id,
            paradigm=row.paradigm,
            result={**row.result, "lesions": LESIONS},
        )
    session.flush()
    session.expire_all()
    evaluations = sorted({e for (e,) in session.execute(select(CaseScore.evaluation_id))})
    found = repository.case_results(session, evaluation_ids=evaluations)
    by_key = {(e, c, p): r for e, c, p, r in found}
    rows = session.scalars(select(CaseScore)).all()
    assert len(rows) == len(found) == 3
    for row in rows:
        assert row.result["lesions"] == LESIONS  # still stored in full
        got = by_key[(row.evaluation_id, row.case_id, row.paradigm)]
        assert got == {k: v for k, v in row.result.items() if k != "lesions"}


def test_postgresql(db_session: Session) -> None:
    _check(db_session)


def test_sqlite(sqlite_url: str, engine_for: Callable[[str], Engine]) -> None:
    with make_session_factory(engine_for(sqlite_url))() as session:
        _check(session)


def test_an_orm_assignment_derives_it_too(db_session: Session) -> None:
    seed_phase(db_session, teams=[TeamSpec(name="A", qualities=[0.8])], centres={"C": 1})
    db_session.flush()
    row = db_session.scalars(select(CaseScore)).one()
    row.result = {**row.result, "lesions": LESIONS, "dice": 0.25}
    db_session.flush()
    db_session.expire_all()
    row = db_session.scalars(select(CaseScore)).one()
    assert row.summary["dice"] == 0.25
    assert "lesions" not in row.summary


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    (command.downgrade if down else command.upgrade)(config, revision)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_migration_backfills_existing_scores(
    backend: str, tmp_path: Path, engine_for: Callable[[str], Engine], request
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
        alembic_upgrade(url)
    else:
        url = request.getfixturevalue("committing_postgres_url")
    with make_session_factory(engine_for(url))() as session:
        seed_phase(session, teams=[TeamSpec(name="A", qualities=[0.8])], centres={"C": 2})
        session.commit()
        for row in session.scalars(select(CaseScore)).all():
            row.result = {**row.result, "lesions": LESIONS}
        session.commit()
        expected = {row.id: dict(row.summary) for row in session.scalars(select(CaseScore))}
    engine_for(url).dispose()
    _migrate(url, "7b1e5a9c4d02", down=True)  # before the column
    _migrate(url, "head")
    engine = engine_for(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM case_scores")).scalar() == 2
    with make_session_factory(engine)() as session:
        rows = session.scalars(select(CaseScore)).all()
        assert {row.id: row.summary for row in rows} == expected
        assert all(row.result["lesions"] == LESIONS for row in rows)
