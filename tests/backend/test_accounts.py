"""Self-service accounts over HTTP: sign-up confirmed by e-mail (read from a real SMTP server),
password reset, browser sessions with CSRF, rate limits, and answers that reveal no address."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.auth import service as auth_service
from backend.auth.models import AccountToken, ApiToken
from backend.auth.ratelimit import DatabaseRateLimiter, RedisRateLimiter
from backend.config import Settings
from backend.db import utcnow
from backend.jobs import RecordingJobQueue
from backend.main import create_app
from backend.notifications.tasks import JOBS
from backend.web.sessions import CSRF_COOKIE, CSRF_HEADER, SESSION_COOKIE
from tests.backend.conftest import SECRET
from tests.fixtures.smtp import Inbox, body_of, link_token

pytestmark = pytest.mark.postgres

PASSWORD = "correct horse battery"


@pytest.fixture
def settings(tmp_path: Path, smtp_server: Inbox) -> Settings:
    return Settings(
        environment="test",
        secret_key=SECRET,
        data_root=tmp_path / "data",
        log_json=False,
        public_url="http://podium.test",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        auth_rate_per_address=4,
        auth_rate_per_ip=100,
    )


def run_jobs(
    jobs: RecordingJobQueue, factory: sessionmaker[Session], settings: Settings
) -> list[str]:
    """Run the notification jobs the requests sent, as the worker would; their outcomes."""
    outcomes = [JOBS[job.task_name](factory, settings, *job.args) for job in jobs.sent]
    jobs.sent.clear()
    return outcomes


def sign_up(client: TestClient, email: str, password: str = PASSWORD) -> dict:
    response = client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": password, "display_name": "Ada Lovelace"},
    )
    assert response.status_code == 202, response.text
    return response.json()


def test_sign_up_confirms_by_e_mail_and_signs_the_browser_in(
    client: TestClient,
    inbox: Inbox,
    jobs: RecordingJobQueue,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> None:
    answer = sign_up(client, "ada@example.org")
    assert "ada@example.org" in answer["message"]
    assert run_jobs(jobs, session_factory, settings) == ["sent"]
    # Not an account yet: signing in says to follow the link (the password was right).
    early = client.post(
        "/api/v1/auth/session", json={"email": "ada@example.org", "password": PASSWORD}
    )
    assert early.status_code == 401
    assert "not confirmed yet" in early.json()["message"]
    mail = inbox.wait_for("ada@example.org")
    assert mail["Subject"] == "Confirm your Podium account"
    assert "http://podium.test/account.html#verify=" in body_of(mail)
    token = link_token(mail, "verify")

    verified = client.post("/api/v1/auth/verify", json={"token": token})
    assert verified.status_code == 200, verified.text
    assert verified.json()["email"] == "ada@example.org"
    assert verified.json()["role"] == "participant"
    assert client.cookies.get(SESSION_COOKIE)
    assert client.cookies.get(CSRF_COOKIE)
    assert client.get("/api/v1/auth/me").json()["display_name"] == "Ada Lovelace"
    again = client.post("/api/v1/auth/verify", json={"token": token})
    assert again.status_code == 400
    assert "used already" in again.json()["message"]


def test_sign_up_answers_the_same_for_an_existing_address(
    client: TestClient,
    inbox: Inbox,
    jobs: RecordingJobQueue,
    session_factory: sessionmaker[Session],
    settings: Settings,
    db_session: Session,
) -> None:
    auth_service.register(
        db_session, email="owner@example.org", password=PASSWORD, display_name="O"
    )
    db_session.commit()
    taken = sign_up(client, "owner@example.org", "another password!")
    fresh = sign_up(client, "nobody@example.org")
    assert taken["message"].replace("owner", "X") == fresh["message"].replace("nobody", "X")
    rows = db_session.scalars(select(AccountToken).order_by(AccountToken.id)).all()
    assert [r.purpose for r in rows] == ["signup", "signup"]  # the same writes for both
    assert run_jobs(jobs, session_factory, settings) == ["account exists", "sent"]
    note = inbox.wait_for("owner@example.org")
    assert note["Subject"] == "You already have a Podium account"
    assert "#verify=" not in body_of(note)
    # The owner's password did not change.
    signed_in = client.post(
        "/api/v1/auth/session", json={"email": "owner@example.org", "password": PASSWORD}
    )
    assert signed_in.status_code == 200


def test_password_reset_by_e_mail_ends_browser_sessions(
    client: TestClient,
    app: FastAPI,
    inbox: Inbox,
    jobs: RecordingJobQueue,
    session_factory: sessionmaker[Session],
    settings: Settings,
    db_session: Session,
) -> None:
    user = auth_service.register(
        db_session, email="grace@example.org", password=PASSWORD, display_name="Grace"
    )
    db_session.commit()
    other = TestClient(app)
    assert (
        other.post(
            "/api/v1/auth/session", json={"email": "grace@example.org", "password": PASSWORD}
        ).status_code
        == 200
    )
    unknown = client.post("/api/v1/auth/password-reset", json={"email": "ghost@example.org"})
    known = client.post("/api/v1/auth/password-reset", json={"email": "grace@example.org"})
    assert unknown.status_code == known.status_code == 202
    assert unknown.json()["message"].replace("ghost", "X") == known.json()["message"].replace(
        "grace", "X"
    )
    assert run_jobs(jobs, session_factory, settings) == ["no account", "sent"]
    assert inbox.to("ghost@example.org") == []
    token = link_token(inbox.wait_for("grace@example.org"), "reset")

    short = client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "password": "short"}
    )
    assert short.status_code == 422
    assert "at least 10 characters" in short.json()["message"]
    done = client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "password": "a brand new password"},
    )
    assert done.status_code == 200, done.text
    assert other.get("/api/v1/auth/me").status_code == 401  # its session was revoked
    old = client.post("/api/v1/auth/session", json={"email": user.email, "password": PASSWORD})
    assert old.status_code == 401
    new = client.post(
        "/api/v1/auth/session",
        json={"email": user.email, "password": "a brand new password"},
    )
    assert new.status_code == 200


def test_an_expired_reset_link_says_so(
    client: TestClient,
    inbox: Inbox,
    jobs: RecordingJobQueue,
    session_factory: sessionmaker[Session],
    settings: Settings,
    db_session: Session,
) -> None:
    auth_service.register(db_session, email="late@example.org", password=PASSWORD, display_name="L")
    db_session.commit()
    client.post("/api/v1/auth/password-reset", json={"email": "late@example.org"})
    run_jobs(jobs, session_factory, settings)
    token = link_token(inbox.wait_for("late@example.org"), "reset")
    row = db_session.scalars(select(AccountToken)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    expired = client.post(
        "/api/v1/auth/password-reset/confirm",
        json={"token": token, "password": "a brand new password"},
    )
    assert expired.status_code == 400
    assert "expired" in expired.json()["message"]
    assert "ask for a new link" in expired.json()["message"]


def test_cookie_sessions_need_the_csrf_header_and_bearer_tokens_do_not(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    user = auth_service.register(
        db_session, email="csrf@example.org", password=PASSWORD, display_name="C"
    )
    _, bearer = auth_service.issue_token(
        db_session, user=user, name="ci", secret_key=settings.secret_key, ttl_days=None
    )
    db_session.commit()
    client.post("/api/v1/auth/session", json={"email": user.email, "password": PASSWORD})
    csrf = client.cookies[CSRF_COOKIE]
    refused = client.post("/api/v1/auth/tokens", json={"name": "laptop"})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["message"]
    forged = client.post("/api/v1/auth/tokens", json={"name": "x"}, headers={CSRF_HEADER: "0" * 64})
    assert forged.status_code == 403
    made = client.post("/api/v1/auth/tokens", json={"name": "laptop"}, headers={CSRF_HEADER: csrf})
    assert made.status_code == 201
    assert made.json()["token"].startswith("pod_")
    listed = client.get("/api/v1/auth/tokens").json()
    assert [t["name"] for t in listed] == ["laptop", "ci"]  # browser sessions are not listed
    script = TestClient(client.app)
    by_bearer = script.post(
        "/api/v1/auth/tokens",
        json={"name": "nightly"},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert by_bearer.status_code == 201
    foreign = script.post(
        "/api/v1/auth/session",
        json={"email": user.email, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    # Sign-out revokes the session and clears the cookies.
    out = client.delete("/api/v1/auth/session", headers={CSRF_HEADER: csrf})
    assert out.status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401
    kinds = db_session.scalars(select(ApiToken.kind).where(ApiToken.revoked_at.is_not(None)))
    assert list(kinds) == ["session"]


def test_sign_in_is_rate_limited_per_address_with_retry_after(
    client: TestClient, db_session: Session
) -> None:
    auth_service.register(db_session, email="rl@example.org", password=PASSWORD, display_name="R")
    db_session.commit()
    wrong = {"email": "rl@example.org", "password": "wrong password"}
    statuses = [client.post("/api/v1/auth/session", json=wrong).status_code for _ in range(4)]
    assert statuses == [401] * 4
    limited = client.post("/api/v1/auth/session", json={**wrong, "password": PASSWORD})
    assert limited.status_code == 429
    assert "too many sign-in attempts" in limited.json()["message"]
    assert 1 <= int(limited.headers["Retry-After"]) <= 900
    # Another address from the same client is not blocked by this one's limit.
    other = client.post("/api/v1/auth/login", json={"email": "x@example.org", "password": "x"})
    assert other.status_code == 401


def test_wrong_address_and_wrong_password_cost_one_scrypt_each(
    client: TestClient, db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth_service.register(db_session, email="t@example.org", password=PASSWORD, display_name="T")
    db_session.commit()
    calls: list[str] = []
    real = auth_service.verify_password

    def counting(password: str, stored: str) -> bool:
        calls.append(stored[:6])
        return real(password, stored)

    monkeypatch.setattr(auth_service, "verify_password", counting)
    for email in ("t@example.org", "nobody@example.org"):
        response = client.post("/api/v1/auth/login", json={"email": email, "password": "nope"})
        assert response.json()["message"] == "wrong e-mail address or password"
    assert calls == ["scrypt", "scrypt"]


@pytest.mark.parametrize("backend", ["database", "redis"])
def test_limiters_share_state_across_instances(
    backend: str, session_factory: sessionmaker[Session], request: pytest.FixtureRequest
) -> None:
    """Two limiters (two API processes) on the same store count together."""
    if backend == "redis":
        url = request.getfixturevalue("redis_url")
        first, second = RedisRateLimiter(url), RedisRateLimiter(url)
        bucket = f"test:{request.node.name}:{utcnow().timestamp()}"
    else:
        first, second = DatabaseRateLimiter(session_factory), DatabaseRateLimiter(session_factory)
        bucket = "test:shared"
    assert first.hit(bucket, limit=2, window_s=60) is None
    assert second.hit(bucket, limit=2, window_s=60) is None
    wait = first.hit(bucket, limit=2, window_s=60)
    assert wait is not None
    assert 1 <= wait <= 60


def test_public_pages_stay_readable_with_a_stale_cookie(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    app = create_app(
        settings,
        session_factory=session_factory,
        job_queue=RecordingJobQueue(),
        configure_logs=False,
    )
    with TestClient(app, cookies={SESSION_COOKIE: "pod_stale"}) as client:
        assert client.get("/api/v1/challenges").status_code == 200
        me = client.get("/api/v1/auth/me")
        assert me.status_code == 401
        assert "sign in first" in me.json()["message"]
