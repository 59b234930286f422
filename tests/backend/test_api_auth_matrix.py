"""Who may call what: every endpoint × {anonymous, team A, team B, organiser, admin}."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.auth.service import register
from backend.challenges.models import Challenge
from tests.backend.conftest import ACTORS, World
from tests.backend.factories import make_case, make_submission
from tests.backend.tarballs import image_tarball, tar_gz

Call = Callable[[TestClient, World, dict[str, str], dict[str, Any]], Any]

CHALLENGE_YAML = """
slug: matrix
title: Matrix
tasks:
  - slug: t
    title: T
    input_phase: venous
    paradigms: [lesion]
    phases:
      - {slug: p, title: P, kind: validation, submission_limit: 3,
         opens_at: "2026-01-01T00:00:00Z", closes_at: "2027-01-01T00:00:00Z"}
"""


# (name, call, expected statuses for ACTORS in order)
MATRIX: list[tuple[str, Call, tuple[int, int, int, int, int]]] = [
    ("list challenges", lambda c, w, h, i: c.get("/api/v1/challenges", headers=h), (200,) * 5),
    (
        "get challenge",
        lambda c, w, h, i: c.get(f"/api/v1/challenges/{i['slug']}", headers=h),
        (200,) * 5,
    ),
    ("me", lambda c, w, h, i: c.get("/api/v1/auth/me", headers=h), (401, 200, 200, 200, 200)),
    (
        "list tokens",
        lambda c, w, h, i: c.get("/api/v1/auth/tokens", headers=h),
        (401, 200, 200, 200, 200),
    ),
    (
        "apply challenge",
        lambda c, w, h, i: c.put(
            "/api/v1/challenges",
            content=CHALLENGE_YAML,
            headers={**h, "Content-Type": "application/yaml"},
        ),
        (401, 403, 403, 200, 200),
    ),
    (
        "list cases",
        lambda c, w, h, i: c.get(f"/api/v1/phases/{w.phase.id}/cases", headers=h),
        (401, 403, 403, 200, 200),
    ),
    (
        "list reference entries",
        lambda c, w, h, i: c.get(f"/api/v1/phases/{w.phase.id}/references", headers=h),
        (401, 403, 403, 200, 200),
    ),
    (
        "list write-ups",
        lambda c, w, h, i: c.get(f"/api/v1/phases/{w.phase.id}/writeups", headers=h),
        (401, 403, 403, 200, 200),
    ),
    (
        "centre comparisons",
        lambda c, w, h, i: c.get(f"/api/v1/phases/{w.phase.id}/centre-comparisons", headers=h),
        (401, 403, 403, 200, 200),
    ),
    (
        "own write-up",
        lambda c, w, h, i: c.get(f"/api/v1/phases/{w.phase.id}/writeup", headers=h),
        (401, 200, 200, 403, 403),
    ),
    (
        "upload inputs",
        lambda c, w, h, i: c.post(
            f"/api/v1/phases/{w.phase.id}/inputs",
            content=tar_gz([("c1.nii.gz", b"input")]),
            headers=h,
        ),
        (401, 403, 403, 200, 200),
    ),
    (
        "list label sets",
        lambda c, w, h, i: c.get(f"/api/v1/tasks/{w.phase.task_id}/label-sets", headers=h),
        (401, 403, 403, 200, 200),
    ),
    (
        "upload labels",
        lambda c, w, h, i: c.post(
            f"/api/v1/tasks/{w.phase.task_id}/label-sets/lesion",
            content=tar_gz([("labels/c1.nii.gz", b"label")]),
            headers=h,
        ),
        (401, 403, 403, 201, 201),
    ),
    (
        "create team",
        lambda c, w, h, i: c.post(
            f"/api/v1/challenges/{i['slug']}/teams", json={"name": "New team"}, headers=h
        ),
        (401, 409, 409, 201, 201),
    ),
    (
        "my team",
        lambda c, w, h, i: c.get(f"/api/v1/challenges/{i['slug']}/teams/mine", headers=h),
        (401, 200, 200, 404, 404),
    ),
    (
        "list teams",
        lambda c, w, h, i: c.get(f"/api/v1/challenges/{i['slug']}/teams", headers=h),
        (401, 403, 403, 200, 200),
    ),
    (
        "approve team",
        lambda c, w, h, i: c.patch(
            f"/api/v1/teams/{w.team_a.id}", json={"approved": True}, headers=h
        ),
        (401, 403, 403, 200, 200),
    ),
    (
        "submit",
        lambda c, w, h, i: c.post(
            f"/api/v1/phases/{w.phase.id}/submissions", content=image_tarball(), headers=h
        ),
        (401, 201, 201, 403, 403),
    ),
    (
        "own submissions",
        lambda c, w, h, i: c.get(f"/api/v1/phases/{w.phase.id}/submissions", headers=h),
        (401, 200, 200, 403, 403),
    ),
    (
        "get submission",
        lambda c, w, h, i: c.get(f"/api/v1/submissions/{i['submission']}", headers=h),
        (401, 200, 404, 200, 200),
    ),
    (
        "cancel submission",
        lambda c, w, h, i: c.delete(f"/api/v1/submissions/{i['submission']}", headers=h),
        (401, 200, 404, 200, 200),
    ),
    (
        "set role",
        lambda c, w, h, i: c.put(
            f"/api/v1/admin/users/{w.users['team_b'].id}/role",
            json={"role": "organiser"},
            headers=h,
        ),
        (401, 403, 403, 403, 200),
    ),
    ("audit", lambda c, w, h, i: c.get("/api/v1/audit", headers=h), (401, 403, 403, 200, 200)),
]


@pytest.mark.postgres
@pytest.mark.parametrize("actor_index", range(len(ACTORS)), ids=ACTORS)
@pytest.mark.parametrize(("name", "call", "expected"), MATRIX, ids=[m[0] for m in MATRIX])
def test_auth_matrix(
    client: TestClient,
    world: World,
    db_session: Session,
    actor_index: int,
    name: str,
    call: Call,
    expected: tuple[int, ...],
) -> None:
    make_case(db_session, phase=world.phase, key="c1")
    submission = make_submission(db_session, team=world.team_a, phase=world.phase)
    db_session.commit()
    challenge = db_session.get(Challenge, world.phase.task.challenge_id)
    assert challenge is not None
    slug = challenge.slug
    actor = ACTORS[actor_index]
    response = call(
        client, world, world.headers(actor), {"slug": slug, "submission": submission.id}
    )
    assert response.status_code == expected[actor_index], (name, actor, response.text)
    if response.status_code >= 400:
        assert response.json()["message"], response.text


@pytest.mark.postgres
def test_bad_and_revoked_tokens_are_401(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/auth/me", headers={"Authorization": "Bearer pod_nonsense"})
    assert response.status_code == 401
    assert "not valid" in response.json()["message"]
    assert response.headers["WWW-Authenticate"] == "Bearer"
    tokens = client.get("/api/v1/auth/tokens", headers=world.headers("team_a")).json()
    client.delete(f"/api/v1/auth/tokens/{tokens[0]['id']}", headers=world.headers("team_a"))
    response = client.get("/api/v1/auth/me", headers=world.headers("team_a"))
    assert response.status_code == 401
    assert "revoked" in response.json()["message"]


@pytest.mark.postgres
def test_login_and_token_shown_once(client: TestClient, db_session: Session) -> None:
    # Made as `podium user create` makes it (self-service sign-up: tests/backend/test_accounts.py).
    register(db_session, email="ada@example.org", password="correct horse", display_name="Ada")
    db_session.commit()
    wrong = client.post("/api/v1/auth/login", json={"email": "ada@example.org", "password": "nope"})
    assert wrong.status_code == 401
    login = client.post(
        "/api/v1/auth/login", json={"email": "ADA@example.org", "password": "correct horse"}
    )
    assert login.status_code == 200
    token = login.json()["token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "participant"
    listed = client.get("/api/v1/auth/tokens", headers={"Authorization": f"Bearer {token}"})
    assert "token" not in listed.json()[0]


@pytest.mark.postgres
def test_validation_errors_are_json_with_a_message(client: TestClient) -> None:
    response = client.post("/api/v1/auth/register", json={"email": "not-an-email"})
    assert response.status_code == 422
    assert response.json()["message"].startswith("invalid request:")
    missing = client.get("/api/v1/nowhere")
    assert missing.status_code == 404
    assert missing.json()["message"]


@pytest.mark.postgres
def test_openapi_describes_endpoints_errors_and_schemas(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    upload = spec["paths"]["/api/v1/phases/{phase_id}/submissions"]["post"]
    assert "application/octet-stream" in upload["requestBody"]["content"]
    assert {"401", "403", "413", "422", "429"} <= set(upload["responses"])
    assert "ErrorBody" in spec["components"]["schemas"]
    assert "SubmissionOut" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 200


@pytest.mark.postgres
def test_every_route_answers_errors_as_json_with_a_message(
    client: TestClient, world: World
) -> None:
    """Anonymous and nonsense calls to every documented operation: never HTML, never bare."""
    spec = client.get("/openapi.json").json()
    checked = 0
    for path, operations in spec["paths"].items():
        url = path.replace("{slug}", "no-such-challenge")
        for name in ("phase_id", "task_id", "team_id", "user_id", "submission_id", "token_id"):
            url = url.replace("{" + name + "}", "999999")
        url = url.replace("{paradigm}", "nothing")
        for method in operations:
            for headers in ({}, world.headers("team_b")):
                response = client.request(method.upper(), url, headers=headers, content=b"{")
                if response.status_code >= 400:
                    body = response.json()
                    assert isinstance(body.get("message"), str), (method, url, body)
                    assert body["message"], (method, url)
                    checked += 1
    assert checked > 20
