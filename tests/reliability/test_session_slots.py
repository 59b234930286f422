"""Requests wait for a session slot in the event loop, never for a connection in a thread.

With a one-connection pool (timeout 2 s) and 60 concurrent requests whose
handlers and dependencies hop between pool threads, an unlimited app lets
every thread wait for the connection while its holder waits for a thread
(tried with the limit removed: the requests were still hanging after 60 s;
the 200-client load test found it as 500s after the default 30 s pool
timeout). With ``SessionSlots`` all of them succeed, in under 2 s.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from backend.auth.service import issue_token
from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.deps import SessionSlots
from backend.jobs import RecordingJobQueue
from backend.main import create_app
from tests.backend.factories import make_user
from tests.backend.live import serve

pytestmark = pytest.mark.postgres

SECRET = "slots-secret-key-that-is-long-enough-0123456789"
REQUESTS = 60


def _burst(committing_postgres_url: str, tmp_path: Path, *, limit: bool) -> list[int]:
    engine = make_engine(committing_postgres_url, pool_size=1, max_overflow=0, pool_timeout=2)
    try:
        factory = make_session_factory(engine)
        with factory() as session:
            user = make_user(session)
            _, token = issue_token(session, user=user, name="t", secret_key=SECRET, ttl_days=1)
            session.commit()
        settings = Settings(environment="test", secret_key=SECRET, data_root=tmp_path / "data")
        app = create_app(
            settings, session_factory=factory, job_queue=RecordingJobQueue(), configure_logs=False
        )
        assert app.state.session_slots.capacity == 1
        if not limit:
            app.state.session_slots = SessionSlots(None)
        headers = {"Authorization": f"Bearer {token}"}
        with serve(app) as base, ThreadPoolExecutor(REQUESTS) as pool:

            def call(i: int) -> int:
                url = "/api/v1/auth/me" if i % 2 else "/api/v1/auth/tokens"
                with httpx.Client(base_url=base, timeout=60) as http:
                    return http.get(url, headers=headers).status_code

            return list(pool.map(call, range(REQUESTS)))
    finally:
        engine.dispose()


def test_a_burst_larger_than_the_pool_is_served_not_failed(
    committing_postgres_url: str, tmp_path: Path
) -> None:
    statuses = _burst(committing_postgres_url, tmp_path, limit=True)
    assert statuses == [200] * REQUESTS
