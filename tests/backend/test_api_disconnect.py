"""A client that vanishes mid-upload leaves nothing behind (real uvicorn, real socket)."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import Engine, select

from backend.auth.service import issue_token
from backend.config import Settings
from backend.db import make_session_factory
from backend.jobs import RecordingJobQueue
from backend.main import create_app
from backend.submissions.models import Submission
from tests.backend.conftest import SECRET, files_under
from tests.backend.factories import make_phase, make_team, make_user
from tests.backend.live import serve
from tests.backend.tarballs import image_tarball


def test_disconnect_mid_upload_removes_the_partial_file(
    sqlite_url: str, engine_for: Callable[[str], Engine], tmp_path: Path
) -> None:
    factory = make_session_factory(engine_for(sqlite_url))
    with factory() as session:
        phase = make_phase(session)
        captain = make_user(session)
        make_team(session, challenge_id=phase.task.challenge_id, captain=captain)
        _, token = issue_token(session, user=captain, name="t", secret_key=SECRET, ttl_days=1)
        session.commit()
        phase_id = phase.id
    settings = Settings(environment="test", secret_key=SECRET, data_root=tmp_path / "data")
    jobs = RecordingJobQueue()
    app = create_app(settings, session_factory=factory, job_queue=jobs, configure_logs=False)
    body = image_tarball(layer_bytes=4 * 1024 * 1024)
    with serve(app) as base:
        address = urlparse(base)
        with socket.create_connection((address.hostname, address.port)) as sock:
            head = (
                f"POST /api/v1/phases/{phase_id}/submissions HTTP/1.1\r\n"
                f"Host: {address.hostname}\r\nAuthorization: Bearer {token}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            )
            sock.sendall(head.encode() + body[: len(body) // 2])
            deadline = time.monotonic() + 5
            while not files_under(settings.staging_dir) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert files_under(settings.staging_dir), "the upload never started"
        deadline = time.monotonic() + 5
        while files_under(settings.data_root) and time.monotonic() < deadline:
            time.sleep(0.02)
    assert files_under(settings.data_root) == []
    assert jobs.sent == []
    with factory() as session:
        assert session.scalars(select(Submission)).all() == []
