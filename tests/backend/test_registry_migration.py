"""The registry migration gives existing teams distinct slugs (on PostgreSQL and SQLite)."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from tests.fixtures.database import REPO_ROOT

BEFORE = "8ea9b8b0c7a7"
NOW = "2026-11-30 00:00:00+00:00"


def _config(url: str) -> Config:
    config = Config(str(REPO_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logger"] = False
    return config


def _check(url: str, engine_for) -> None:
    command.upgrade(_config(url), BEFORE)
    engine = engine_for(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO challenges (id, slug, title, description, requires_team_approval, "
                "created_at, updated_at) VALUES (1, 'trials', 'T', '', false, :t, :t), "
                "(2, 'other', 'O', '', false, :t, :t)"
            ),
            {"t": NOW},
        )
        connection.execute(
            text(
                "INSERT INTO users (id, email, display_name, password_hash, role, is_active, "
                "created_at) VALUES (1, 'a@x.org', 'A', '!', 'participant', true, :t)"
            ),
            {"t": NOW},
        )
        for team_id, challenge_id, name in [
            (1, 1, "Hépatica Lab"),
            (2, 1, "hepatica lab"),
            (3, 1, "HEPATICA-LAB!"),
            (4, 2, "Hepatica Lab"),
            (5, 1, "東京"),
        ]:
            connection.execute(
                text(
                    "INSERT INTO teams (id, challenge_id, name, captain_id, organiser_affiliated, "
                    "approved, invite_code, created_at) VALUES (:id, :c, :n, 1, false, true, "
                    ":code, :t)"
                ),
                {"id": team_id, "c": challenge_id, "n": name, "code": f"code-{team_id}", "t": NOW},
            )
    command.upgrade(_config(url), "head")
    with engine.connect() as connection:
        slugs = dict(connection.execute(text("SELECT id, slug FROM teams ORDER BY id")).all())
    assert slugs == {
        1: "hepatica-lab",
        2: "hepatica-lab-2",
        3: "hepatica-lab-3",
        4: "hepatica-lab",  # another challenge: its own namespace
        5: "team",
    }
    engine.dispose()
    command.downgrade(_config(url), BEFORE)


def test_existing_teams_get_distinct_slugs_on_postgresql(postgres_databases, engine_for):
    # A database at the revision before this one: from the admin URL, not the template.
    url = postgres_databases.new()
    command.downgrade(_config(url), BEFORE)
    with engine_for(url).begin() as connection:
        connection.execute(text("DELETE FROM teams"))
    _check(url, engine_for)


def test_existing_teams_get_distinct_slugs_on_sqlite(tmp_path, engine_for):
    _check(f"sqlite:///{tmp_path / 'podium.sqlite3'}", engine_for)
