"""The board cache: stamps, LRU eviction, and invalidation by another process's commit."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from backend.config import Settings
from backend.db import make_session_factory
from backend.jobs import RecordingJobQueue
from backend.leaderboard import cache
from backend.leaderboard.cache import BoardCache, collection_paused, leaderboard_changed
from backend.main import create_app
from backend.submissions import repository as subs_repo
from tests.backend.leaderboard_seed import TeamSpec, case_result, seed_phase


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.BOARDS.clear()
    cache.RESULTS.clear()
    yield
    cache.BOARDS.clear()
    cache.RESULTS.clear()


def test_entries_are_served_only_at_their_stamp() -> None:
    c = BoardCache(max_entries=2)
    builds: list[str] = []

    def build(value: str) -> Callable[[], str]:
        def run() -> str:
            builds.append(value)
            return value

        return run

    assert c.get_or_build("a", 1, build("a1")) == "a1"
    assert c.get_or_build("a", 1, build("again")) == "a1"
    assert c.get_or_build("a", 2, build("a2")) == "a2"
    assert c.get("a", 1) is None
    c.get_or_build("b", 1, build("b1"))
    c.get_or_build("c", 1, build("c1"))  # evicts "a", the least recently used
    assert c.get("a", 2) is None
    assert c.get("b", 1) == "b1"
    assert builds == ["a1", "a2", "b1", "c1"]
    assert (c.hits, c.misses) == (1, 4)


@pytest.mark.postgres
def test_a_bump_committed_by_another_engine_invalidates_the_api_cache(
    committing_postgres_url: str, engine_for: Callable[[str], Engine], tmp_path: Path
) -> None:
    worker_engine = engine_for(committing_postgres_url)  # stands in for the worker process
    worker = make_session_factory(worker_engine)
    with worker() as session:
        seeded = seed_phase(
            session,
            teams=[
                TeamSpec(name="Alpha", qualities=[0.9]),
                TeamSpec(name="Bravo", qualities=[0.6]),
            ],
            centres={"A": 3},
        )
        session.commit()
    api_factory = make_session_factory(engine_for(committing_postgres_url))
    settings = Settings(
        environment="test",
        secret_key="cache-test-secret-key-0123456789abcdef",
        database_url=committing_postgres_url,
        data_root=tmp_path,
        log_json=False,
    )
    app = create_app(
        settings, session_factory=api_factory, job_queue=RecordingJobQueue(), configure_logs=False
    )
    url = f"/api/v1/phases/{seeded.phase.id}/leaderboard"
    with TestClient(app) as client:
        before = client.get(url).json()
        assert [r["team"] for r in before["rows"]] == ["Alpha", "Bravo"]
        with worker() as session:
            bravo = seeded.submissions["Bravo"][0]
            evaluation = subs_repo.latest_evaluation(session, bravo.id)
            assert evaluation is not None
            for score in subs_repo.case_scores(session, evaluation.id):
                subs_repo.upsert_case_score(
                    session,
                    evaluation_id=evaluation.id,
                    case_id=score.case_id,
                    paradigm=score.paradigm,
                    result=case_result(score.result["case_id"], 1.0).to_dict(),
                )
            session.commit()
            assert client.get(url).json()["rows"] == before["rows"]  # still the cached board
            leaderboard_changed(session, phase_id=seeded.phase.id)
            session.commit()
        after = client.get(url).json()
        assert [r["team"] for r in after["rows"]] == ["Bravo", "Alpha"]


def test_a_build_runs_without_the_cycle_collector_and_gives_it_back() -> None:
    c = BoardCache()
    seen: list[bool] = []
    assert gc.isenabled()
    c.get_or_build("k", 1, lambda: seen.append(gc.isenabled()))
    assert seen == [False]
    assert gc.isenabled()

    # Overlapping builds (two request threads): back on only when the last one ends.
    first_in, second_done, release = threading.Event(), threading.Event(), threading.Event()

    def slow() -> None:
        first_in.set()
        release.wait(5)

    worker = threading.Thread(target=c.get_or_build, args=("slow", 1, slow))
    worker.start()
    assert first_in.wait(5)
    c.get_or_build("fast", 1, second_done.set)
    assert second_done.is_set()
    assert not gc.isenabled()  # the slow build is still running
    release.set()
    worker.join(5)
    assert gc.isenabled()

    # A build that fails gives it back too; a process that turned it off keeps it off.
    with pytest.raises(RuntimeError):
        c.get_or_build("boom", 1, lambda: (_ for _ in ()).throw(RuntimeError("boom")))
    assert gc.isenabled()
    gc.disable()
    try:
        with collection_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
