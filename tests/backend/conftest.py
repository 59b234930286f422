"""Backend fixtures: an app on the test's rolled-back transaction, and five actors."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from backend.auth.models import User
from backend.auth.service import issue_token
from backend.challenges.models import Phase
from backend.config import Settings
from backend.enums import Role
from backend.jobs import RecordingJobQueue
from backend.main import create_app
from backend.teams.models import Team
from tests.backend.factories import make_phase, make_team, make_user

SECRET = "test-secret-key-that-is-long-enough-0123456789"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        environment="test",
        secret_key=SECRET,
        data_root=tmp_path / "data",
        max_upload_bytes=8 * 1024 * 1024,
        log_json=False,
    )


@pytest.fixture
def jobs() -> RecordingJobQueue:
    return RecordingJobQueue()


@pytest.fixture
def app(
    settings: Settings, session_factory: sessionmaker[Session], jobs: RecordingJobQueue
) -> FastAPI:
    return create_app(
        settings, session_factory=session_factory, job_queue=jobs, configure_logs=False
    )


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@dataclass
class World:
    """A challenge with one open phase, two teams and one user per role."""

    phase: Phase
    team_a: Team
    team_b: Team
    users: dict[str, User]
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        if who == "anonymous":
            return {}
        return {"Authorization": f"Bearer {self.tokens[who]}"}


ACTORS = ("anonymous", "team_a", "team_b", "organiser", "admin")


@pytest.fixture
def world(db_session: Session, settings: Settings) -> World:
    phase = make_phase(db_session, submission_limit=3)
    users = {
        "team_a": make_user(db_session),
        "team_b": make_user(db_session),
        "organiser": make_user(db_session, role=Role.ORGANISER),
        "admin": make_user(db_session, role=Role.ADMIN),
    }
    team_a = make_team(db_session, challenge_id=phase.task.challenge_id, captain=users["team_a"])
    team_b = make_team(db_session, challenge_id=phase.task.challenge_id, captain=users["team_b"])
    tokens = {
        who: issue_token(
            db_session, user=user, name="test", secret_key=settings.secret_key, ttl_days=1
        )[1]
        for who, user in users.items()
    }
    db_session.commit()
    return World(phase=phase, team_a=team_a, team_b=team_b, users=users, tokens=tokens)


def files_under(root: Path) -> list[Path]:
    """Every file below ``root`` (to show nothing was left behind)."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
