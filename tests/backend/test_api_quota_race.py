"""Quota is atomic: 20 uploads racing for 3 free slots → exactly 3 accepted.

Real commits on a real database (a fresh PostgreSQL database, and an SQLite
file), real HTTP over loopback to uvicorn, 20 client threads released together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from backend.auth.service import issue_token
from backend.config import Settings
from backend.db import make_session_factory
from backend.jobs import RecordingJobQueue
from backend.main import create_app
from backend.submissions import repository as subs
from backend.submissions.models import QuotaLedgerEntry, Submission
from tests.backend.conftest import SECRET, files_under
from tests.backend.factories import make_phase, make_team, make_user
from tests.backend.live import serve
from tests.backend.tarballs import image_tarball

RACERS = 20
SLOTS = 3


def _race(url: str, engine: Engine, tmp_path: Path) -> None:
    factory = make_session_factory(engine)
    with factory() as session:
        phase = make_phase(session, submission_limit=SLOTS)
        captain = make_user(session)
        team = make_team(session, challenge_id=phase.task.challenge_id, captain=captain)
        _, token = issue_token(session, user=captain, name="t", secret_key=SECRET, ttl_days=1)
        session.commit()
        phase_id, team_id = phase.id, team.id
    settings = Settings(environment="test", secret_key=SECRET, data_root=tmp_path / "data")
    jobs = RecordingJobQueue()
    app = create_app(settings, session_factory=factory, job_queue=jobs, configure_logs=False)
    body = image_tarball(layer_bytes=256 * 1024)
    barrier = threading.Barrier(RACERS)

    def upload(_: int) -> httpx.Response:
        with httpx.Client(timeout=60) as http:
            barrier.wait()
            return http.post(
                f"{base}/api/v1/phases/{phase_id}/submissions",
                content=body,
                headers={"Authorization": f"Bearer {token}"},
            )

    with serve(app) as base, ThreadPoolExecutor(RACERS) as pool:
        responses = list(pool.map(upload, range(RACERS)))

    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * SLOTS + [429] * (RACERS - SLOTS), [r.text for r in responses]
    refused = [r.json()["message"] for r in responses if r.status_code == 429]
    assert all("no submissions left" in m for m in refused)
    with factory() as session:
        rows = session.scalars(select(Submission).where(Submission.team_id == team_id)).all()
        assert sorted(s.slot for s in rows) == [1, 2, 3]
        ledger = session.scalars(select(QuotaLedgerEntry)).all()
        assert [e.change for e in ledger] == [-1] * SLOTS
        assert subs.slots_in_use(session, team_id=team_id, phase_id=phase_id) == SLOTS
    assert sorted(j.args[0] for j in jobs.sent) == sorted(s.id for s in rows)
    stored = files_under(settings.data_root)
    assert len(stored) == SLOTS, stored  # refused uploads left nothing behind


@pytest.mark.postgres
@pytest.mark.slow
def test_quota_race_postgres(
    committing_postgres_url: str, engine_for: Callable[[str], Engine], tmp_path: Path
) -> None:
    _race(committing_postgres_url, engine_for(committing_postgres_url), tmp_path)


@pytest.mark.slow
def test_quota_race_sqlite(
    sqlite_url: str, engine_for: Callable[[str], Engine], tmp_path: Path
) -> None:
    _race(sqlite_url, engine_for(sqlite_url), tmp_path)


def _slot_race(engine: Engine) -> None:
    """The repository alone: 20 sessions insert at once, past any count check."""
    factory = make_session_factory(engine)
    with factory() as session:
        phase = make_phase(session, submission_limit=SLOTS)
        team = make_team(session, challenge_id=phase.task.challenge_id)
        session.commit()
        phase_id, team_id = phase.id, team.id
    barrier = threading.Barrier(RACERS)

    def take(_: int) -> bool:
        session: Session = factory()
        try:
            barrier.wait()
            sub = Submission(
                team_id=team_id,
                phase_id=phase_id,
                tarball_sha256="0" * 64,
                image_digest="sha256:0",
                size_bytes=1,
                tarball_path="x",
            )
            won = subs.insert_with_free_slot(session, sub, limit=SLOTS)
            session.commit()
            return won
        finally:
            session.close()

    with ThreadPoolExecutor(RACERS) as pool:
        results = list(pool.map(take, range(RACERS)))
    assert results.count(True) == SLOTS
    with factory() as session:
        slots = session.scalars(select(Submission.slot).where(Submission.team_id == team_id))
        assert sorted(slots) == [1, 2, 3]


@pytest.mark.postgres
def test_slot_insert_race_postgres(
    committing_postgres_url: str, engine_for: Callable[[str], Engine]
) -> None:
    _slot_race(engine_for(committing_postgres_url))


def test_slot_insert_race_sqlite(sqlite_url: str, engine_for: Callable[[str], Engine]) -> None:
    _slot_race(engine_for(sqlite_url))
