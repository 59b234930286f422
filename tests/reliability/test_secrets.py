"""Secrets: tokens hashed at rest and compared by keyed-hash lookup, no secret in the logs,
hidden labels and inputs never served to anyone but an organiser."""

from __future__ import annotations

import inspect
import itertools
import json
import logging
import re

import pytest
import structlog
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from backend.auth import repository as auth_repository
from backend.auth import security
from backend.auth import service as auth_service
from backend.config import Settings
from backend.logs import configure_logging
from tests.backend.tarballs import image_tarball
from tests.reliability.seed import FINAL_LOG, VALIDATION_LOG, Seeded

pytestmark = pytest.mark.postgres

PASSWORD = "a long password 1234"


def _database_text(session: Session) -> str:
    """Every row of every table as text (to search the whole database for a string)."""
    tables = session.execute(
        text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ).scalars()
    dump = []
    for table in tables:
        for row in session.execute(text(f'SELECT * FROM "{table}"')):
            dump.append(repr(tuple(row)))
    return "\n".join(dump)


def test_tokens_and_passwords_are_hashed_at_rest(
    client: TestClient, db_session: Session, seeded: Seeded
) -> None:
    registered = client.post(
        "/api/v1/auth/register",
        json={"email": "rest@example.org", "password": PASSWORD, "display_name": "Rest"},
    )
    assert registered.status_code == 202, registered.text  # a pending sign-up (scrypt hash)
    # The account itself as a followed link makes it (tests/backend/test_accounts.py).
    auth_service.register(db_session, email="rest@example.org", password=PASSWORD, display_name="R")
    db_session.commit()
    login = client.post(
        "/api/v1/auth/login", json={"email": "rest@example.org", "password": PASSWORD}
    )
    browser_token = login.json()["token"]
    named = client.post(
        "/api/v1/auth/tokens",
        json={"name": "ci"},
        headers={"Authorization": f"Bearer {browser_token}"},
    )
    assert named.status_code in (200, 201), named.text
    plaintexts = [browser_token, named.json()["token"], PASSWORD, *seeded.tokens.values()]
    dump = _database_text(db_session)
    assert "rest@example.org" in dump  # the dump does see the new rows
    for secret in plaintexts:
        assert secret not in dump
        assert secret[8:] not in dump  # not even without the public prefix


def test_tokens_are_found_by_keyed_hash_not_compared_as_text() -> None:
    """Review as a test: the lookup is by HMAC-SHA256 and passwords use compare_digest.

    A token is never compared with ``==`` against stored text: the database is
    queried by its keyed hash (an index lookup, whose timing reveals nothing
    about the stored tokens), and passwords go through ``hmac.compare_digest``.
    """
    authenticate = inspect.getsource(auth_service.authenticate_token)
    assert "token_with_user(session, hash_token(" in authenticate
    lookup = inspect.getsource(auth_repository.token_with_user)
    assert "ApiToken.token_hash == token_hash" in lookup
    assert "hmac.compare_digest" in inspect.getsource(security.verify_password)
    digest = security.hash_token("pod_x", secret_key="k" * 40)
    assert len(digest) == 64
    assert digest != security.hash_token("pod_x", secret_key="j" * 40)


def test_no_secret_reaches_the_logs(
    client: TestClient, seeded: Seeded, db_session: Session, capsys: pytest.CaptureFixture[str]
) -> None:
    """Structured JSON logs of a register, login, token use, upload and failed login."""
    configure_logging(level="DEBUG", json=True)
    try:
        capsys.readouterr()
        client.post(
            "/api/v1/auth/register",
            json={"email": "logs@example.org", "password": PASSWORD, "display_name": "Logs"},
        )
        auth_service.register(
            db_session, email="logs@example.org", password=PASSWORD, display_name="Logs"
        )
        db_session.commit()
        token = client.post(
            "/api/v1/auth/login", json={"email": "logs@example.org", "password": PASSWORD}
        ).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/auth/me", headers=auth).status_code == 200
        upload = client.post(
            f"/api/v1/phases/{seeded.validation_phase_id}/submissions",
            content=image_tarball(),
            headers=seeded.headers("participant"),
        )
        assert upload.status_code == 201, upload.text
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}x"})
        client.post(
            "/api/v1/auth/login", json={"email": "logs@example.org", "password": PASSWORD + "x"}
        )
        logging.getLogger("podium.test").info("stdlib logs go through the same renderer")
        logs = capsys.readouterr().err
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    assert sum(1 for line in lines if line.get("event") == "request") >= 6  # logs were captured
    for secret in (PASSWORD, token, token[8:], seeded.tokens["participant"]):
        assert secret not in logs


def _fill(path: str, ids: dict[str, list[str]]) -> list[str]:
    names = re.findall(r"\{([^}]+)\}", path)  # also inside a segment: /{team_id}.pdf
    urls = []
    for values in itertools.product(*(ids[name] for name in names)):
        url = path
        for name, value in zip(names, values, strict=True):
            url = url.replace("{" + name + "}", value)
        urls.append(url)
    return urls


def _walk(app: FastAPI, seeded: Seeded) -> list[tuple[str, str]]:
    calls = []
    for route in iter_route_contexts(app.router.routes):
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                calls += [(method, url) for url in _fill(route.path, seeded.ids)]
    # Reads first: a write (leaving a team, revoking a token) must not hide a later read.
    return sorted(calls, key=lambda c: c[0] != "GET")


@pytest.mark.parametrize("who", ["participant", "other_team", "bystander", "anonymous"])
def test_no_route_serves_hidden_data_to_a_non_organiser(
    app: FastAPI, client: TestClient, seeded: Seeded, who: str
) -> None:
    calls = _walk(app, seeded)
    static = [
        ("GET", url)
        for secret in seeded.secrets
        if secret.startswith((b"challenges/", b"/"))
        for url in (
            "/" + secret.decode().lstrip("/"),
            "/..%2F" + secret.decode().lstrip("/"),
            "/../../" + secret.decode().lstrip("/"),
        )
    ]
    assert len({route for _, route in calls}) > 40
    assert static
    answered = 0
    for method, url in [*calls, *static]:
        body = b"{}" if method in ("POST", "PUT", "PATCH") else None
        response = client.request(
            method,
            url,
            content=body,
            headers={**seeded.headers(who), "Content-Type": "application/json"},
        )
        assert response.status_code < 500, (method, url, response.text)
        answered += response.status_code < 300
        for secret in seeded.secrets:
            assert secret not in response.content, (who, method, url, secret)
    assert answered > 10  # the walk reached real data, not only refusals


def test_organisers_do_see_hidden_data(client: TestClient, seeded: Seeded) -> None:
    """The control for the walk: the secrets are reachable, just not by the others."""
    listed = client.get(
        f"/api/v1/phases/{seeded.validation_phase_id}/cases", headers=seeded.headers("organiser")
    )
    assert any(secret in listed.content for secret in seeded.secrets)


def test_final_phase_logs_are_hidden_from_the_team(client: TestClient, seeded: Seeded) -> None:
    team = seeded.headers("teammate")
    final = client.get(f"/api/v1/submissions/{seeded.submission_ids['final']}", headers=team)
    assert final.status_code == 200
    assert final.json()["log_tail"] is None
    listed = client.get(f"/api/v1/phases/{seeded.final_phase_id}/submissions", headers=team)
    assert [s["log_tail"] for s in listed.json()["submissions"]] == [None]
    validation = client.get(
        f"/api/v1/submissions/{seeded.submission_ids['validation']}", headers=team
    )
    assert validation.json()["log_tail"] == VALIDATION_LOG
    organiser = client.get(
        f"/api/v1/submissions/{seeded.submission_ids['final']}",
        headers=seeded.headers("organiser"),
    )
    assert organiser.json()["log_tail"] == FINAL_LOG


def test_settings_secret_key_is_not_served(client: TestClient, settings: Settings) -> None:
    for url in ("/openapi.json", "/healthz", "/api/v1/challenges", "/"):
        assert settings.secret_key.encode() not in client.get(url).content
