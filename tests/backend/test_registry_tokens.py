"""The token server: its rules, its tokens, the notification webhook and /registry.

The tokens are checked the way the registry checks them: ES256 against the
public key of Podium's certificate, ``kid`` in libtrust form, ``iss``/``aud``.
The real registry accepting them is tested in ``test_registry_docker.py``.
"""

from __future__ import annotations

import base64

import jwt
import pytest
from cryptography import x509
from sqlalchemy import select

from backend.audit.models import AuditEvent
from backend.challenges.models import Challenge
from backend.config import Settings
from backend.registry.keys import CERT_FILE, libtrust_key_id
from backend.registry.models import RegistryEvent
from backend.registry.registry_config import notify_secret
from tests.backend.conftest import SECRET

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(tmp_path):
    return Settings(
        environment="test",
        secret_key=SECRET,
        data_root=tmp_path / "data",
        log_json=False,
        registry_url="http://127.0.0.1:9",
        registry_host="registry.example.org",
    )


def _basic(email: str, token: str) -> dict[str, str]:
    raw = base64.b64encode(f"{email}:{token}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _token(client, world, who: str, *scopes: str, **params):
    return client.get(
        "/api/v1/registry/token",
        params={"service": "podium-registry", "scope": list(scopes), **params},
        headers=_basic(world.users[who].email, world.tokens[who]),
    )


def _claims(settings, token: str) -> dict:
    certificate = x509.load_pem_x509_certificate((settings.registry_keys / CERT_FILE).read_bytes())
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert header["kid"] == libtrust_key_id(certificate.public_key())
    return jwt.decode(
        token,
        certificate.public_key(),
        algorithms=["ES256"],
        audience="podium-registry",
        issuer="podium",
    )


@pytest.fixture
def challenge_slug(world, db_session):
    return db_session.get(Challenge, world.team_a.challenge_id).slug


def test_a_member_gets_push_and_pull_in_the_team_namespace_only(
    client, world, settings, challenge_slug
):
    mine = f"{challenge_slug}/{world.team_a.slug}/model"
    response = _token(client, world, "team_a", f"repository:{mine}:push,pull")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300
    assert body["refused"] == []
    claims = _claims(settings, body["token"])
    assert claims["sub"] == world.users["team_a"].email
    assert claims["access"] == [{"type": "repository", "name": mine, "actions": ["pull", "push"]}]
    assert claims["exp"] - claims["iat"] == 300

    # A login asks for no scope: a token with no access at all.
    login = _token(client, world, "team_a", account=world.users["team_a"].email)
    assert login.status_code == 200
    assert _claims(settings, login.json()["token"])["access"] == []


@pytest.mark.parametrize(
    ("who", "scope", "words"),
    [
        ("team_a", "repository:{c}/{b}/model:push,pull", "is not your team's"),
        ("team_a", "repository:{c}/{a}:push", "only Podium writes it"),
        ("team_a", "repository:nowhere/{a}/m:push", "there is no challenge 'nowhere'"),
        ("organiser", "repository:{c}/{a}/model:push", "you are not in a team of"),
        ("team_a", "repository:{c}/{b}/model:pull", "is not your team's"),
    ],
)
def test_refused_scopes_say_why_and_are_audited(
    client, world, db_session, challenge_slug, who, scope, words
):
    scope = scope.format(c=challenge_slug, a=world.team_a.slug, b=world.team_b.slug)
    response = _token(client, world, who, scope)
    assert response.status_code == 403, response.text
    body = response.json()
    assert words in body["message"]
    # The shape the docker client prints: "denied: <message>".
    assert body["errors"][0]["code"] == "DENIED"
    assert words in body["errors"][0]["message"]
    (event,) = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "registry.scope_refused")
    ).all()
    assert event.actor_id == world.users[who].id
    assert words in event.after["refused"][0]["reason"]


def test_organisers_pull_everything_and_partial_pulls_are_granted_in_part(
    client, world, settings, challenge_slug
):
    theirs = f"{challenge_slug}/{world.team_b.slug}/model"
    organiser = _token(client, world, "organiser", f"repository:{theirs}:pull")
    assert organiser.status_code == 200
    assert _claims(settings, organiser.json()["token"])["access"][0]["actions"] == ["pull"]
    # docker push asks to pull other repositories to mount layers from: the push goes on.
    mine = f"{challenge_slug}/{world.team_a.slug}/model"
    mixed = _token(
        client, world, "team_a", f"repository:{mine}:push,pull", f"repository:{theirs}:pull"
    )
    assert mixed.status_code == 200, mixed.text
    assert [a["name"] for a in _claims(settings, mixed.json()["token"])["access"]] == [mine]
    assert mixed.json()["refused"][0]["scope"] == f"repository:{theirs}:pull"


def test_bad_credentials_and_requests(client, world):
    anonymous = client.get("/api/v1/registry/token", params={"service": "podium-registry"})
    assert anonymous.status_code == 401
    assert "docker login" in anonymous.json()["errors"][0]["message"]
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    wrong = client.get(
        "/api/v1/registry/token", headers=_basic(world.users["team_a"].email, "nope")
    )
    assert wrong.status_code == 401
    assert wrong.json()["errors"][0]["code"] == "UNAUTHORIZED"
    other = client.get(
        "/api/v1/registry/token",
        headers=_basic(world.users["team_b"].email, world.tokens["team_a"]),
    )
    assert other.status_code == 401
    assert "belongs to another account" in other.json()["message"]
    assert _token(client, world, "team_a", "repository:x").status_code == 400
    assert _token(client, world, "team_a", service="elsewhere").status_code == 400


def test_registry_info_gives_the_prefix_per_challenge(client, world, challenge_slug):
    response = client.get("/api/v1/registry", headers=world.headers("team_a"))
    assert response.status_code == 200
    body = response.json()
    assert body["address"] == "registry.example.org"
    assert body["login"] == f"docker login registry.example.org -u {world.users['team_a'].email}"
    assert body["pull_everything"] is False
    (namespace,) = body["namespaces"]
    assert namespace["prefix"] == f"registry.example.org/{challenge_slug}/{world.team_a.slug}/"
    assert namespace["push"] is True
    assert client.get("/api/v1/registry").status_code == 401
    organiser = client.get("/api/v1/registry", headers=world.headers("organiser")).json()
    assert organiser["pull_everything"] is True


def _event(
    event_id: str,
    repository: str,
    *,
    action="push",
    media="application/vnd.docker.distribution.manifest.v2+json",
):
    return {
        "id": event_id,
        "timestamp": "2026-11-29T23:51:19.917895269Z",
        "action": action,
        "target": {
            "mediaType": media,
            "digest": "sha256:" + "a" * 64,
            "size": 527,
            "repository": repository,
            "tag": "v1",
        },
        "actor": {"name": "someone@example.org"},
    }


def test_notifications_need_the_secret_and_are_recorded_once(
    client, world, db_session, settings, challenge_slug
):
    repository = f"{challenge_slug}/{world.team_a.slug}/model"
    envelope = {
        "events": [
            _event("e1", repository),
            _event("e2", repository, media="application/octet-stream"),  # a layer: skipped
        ]
    }
    url = "/api/v1/registry/notifications"
    assert client.post(url, json=envelope).status_code == 401
    assert (
        client.post(url, json=envelope, headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    headers = {
        "Authorization": f"Bearer {notify_secret(settings)}",
        "Content-Type": "application/vnd.docker.distribution.events.v1+json",
    }
    first = client.post(url, json=envelope, headers=headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"recorded": 1}
    assert client.post(url, json=envelope, headers=headers).json() == {"recorded": 0}
    (event,) = db_session.scalars(select(RegistryEvent)).all()
    assert (event.repository, event.tag, event.team_id) == (repository, "v1", world.team_a.id)
    assert event.at.year == 2026
    audited = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "registry.push"))
    assert [a.target_id for a in audited] == [repository]
    bad = client.post(url, content=b"{", headers=headers)
    assert bad.status_code == 422
