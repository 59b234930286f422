"""Reliability fixtures: the backend test app (rolled-back PostgreSQL) and a seeded challenge."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.config import Settings
from tests.backend.conftest import (  # noqa: F401 - fixtures reused
    app,
    client,
    jobs,
    settings,
    world,
)
from tests.reliability.seed import Seeded, seed_challenge


@pytest.fixture
def seeded(client: TestClient, db_session: Session, settings: Settings) -> Seeded:  # noqa: F811
    """A challenge with hidden and sample cases, labels, teams, submissions and tokens."""
    return seed_challenge(client, db_session, settings)
