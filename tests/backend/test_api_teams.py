"""Teams: one per person and challenge, invitations, approval, changes after submitting."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.auth.service import issue_token
from backend.challenges.models import Challenge
from backend.config import Settings
from tests.backend.conftest import World
from tests.backend.factories import make_submission, make_user
from tests.backend.tarballs import image_tarball

pytestmark = pytest.mark.postgres


def _newcomer(db_session: Session, settings: Settings) -> dict[str, str]:
    user = make_user(db_session)
    _, token = issue_token(
        db_session, user=user, name="t", secret_key=settings.secret_key, ttl_days=1
    )
    db_session.commit()
    return {"Authorization": f"Bearer {token}"}


def _slug(db_session: Session, world: World) -> str:
    challenge = db_session.get(Challenge, world.phase.task.challenge_id)
    assert challenge is not None
    return challenge.slug


def test_create_join_with_invite_and_only_one_team(
    client: TestClient, world: World, db_session: Session, settings: Settings
) -> None:
    slug = _slug(db_session, world)
    mine = client.get(f"/api/v1/challenges/{slug}/teams/mine", headers=world.headers("team_a"))
    code = mine.json()["invite_code"]
    assert code
    newcomer = _newcomer(db_session, settings)
    bad = client.post(
        f"/api/v1/challenges/{slug}/teams/join", json={"invite_code": "nope"}, headers=newcomer
    )
    assert bad.status_code == 404
    joined = client.post(
        f"/api/v1/challenges/{slug}/teams/join", json={"invite_code": code}, headers=newcomer
    )
    assert joined.status_code == 200
    assert joined.json()["invite_code"] == code  # members see it, to invite others
    assert len(joined.json()["members"]) == 2
    other = client.get(f"/api/v1/challenges/{slug}/teams/mine", headers=world.headers("team_b"))
    second = client.post(
        f"/api/v1/challenges/{slug}/teams/join",
        json={"invite_code": other.json()["invite_code"]},
        headers=newcomer,
    )
    assert second.status_code == 409
    assert "one team per challenge" in second.json()["message"]


def test_membership_is_frozen_after_the_first_submission(
    client: TestClient, world: World, db_session: Session, settings: Settings
) -> None:
    slug = _slug(db_session, world)
    code = client.get(
        f"/api/v1/challenges/{slug}/teams/mine", headers=world.headers("team_a")
    ).json()["invite_code"]
    make_submission(db_session, team=world.team_a, phase=world.phase)
    db_session.commit()
    newcomer = _newcomer(db_session, settings)
    refused = client.post(
        f"/api/v1/challenges/{slug}/teams/join", json={"invite_code": code}, headers=newcomer
    )
    assert refused.status_code == 403
    assert "organiser" in refused.json()["message"]
    me = client.get("/api/v1/auth/me", headers=newcomer).json()
    added = client.post(
        f"/api/v1/teams/{world.team_a.id}/members",
        json={"user_id": me["id"]},
        headers=world.headers("organiser"),
    )
    assert added.status_code == 200
    leave = client.delete(f"/api/v1/teams/{world.team_a.id}/members/{me['id']}", headers=newcomer)
    assert leave.status_code == 403
    removed = client.delete(
        f"/api/v1/teams/{world.team_a.id}/members/{me['id']}", headers=world.headers("organiser")
    )
    assert removed.status_code == 204


def test_approval_required_challenges(
    client: TestClient, world: World, db_session: Session, settings: Settings
) -> None:
    challenge = db_session.get(Challenge, world.phase.task.challenge_id)
    assert challenge is not None
    challenge.requires_team_approval = True
    db_session.commit()
    newcomer = _newcomer(db_session, settings)
    team = client.post(
        f"/api/v1/challenges/{challenge.slug}/teams", json={"name": "Late"}, headers=newcomer
    ).json()
    assert team["approved"] is False
    upload = client.post(
        f"/api/v1/phases/{world.phase.id}/submissions", content=image_tarball(), headers=newcomer
    )
    assert upload.status_code == 403
    assert "approval" in upload.json()["message"]
    approved = client.patch(
        f"/api/v1/teams/{team['id']}", json={"approved": True}, headers=world.headers("organiser")
    )
    assert approved.json()["approved"] is True
    upload = client.post(
        f"/api/v1/phases/{world.phase.id}/submissions", content=image_tarball(), headers=newcomer
    )
    assert upload.status_code == 201
