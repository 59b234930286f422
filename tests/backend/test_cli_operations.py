"""``podium`` as deployments run it: passwords without a terminal, migrations by replicas."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from backend.db import make_engine
from tests.fixtures.database import _admin_execute, _database_url

PODIUM = [sys.executable, "-c", "from backend.cli import main; main()"]
LOCK = 0x706F6469756D  # migrations/env.py's MIGRATION_LOCK


def _podium(args: list[str], *, env: dict[str, str], stdin: str | None = None):
    return subprocess.run(
        [*PODIUM, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    env = {"PODIUM_DATA_ROOT": str(tmp_path / "data"), "PODIUM_DATABASE_URL": ""}
    assert _podium(["db", "upgrade"], env=env).returncode == 0
    return env


def test_user_create_reads_the_password_from_stdin_without_a_terminal(sqlite_env) -> None:
    # `docker compose exec -T api podium user create ...` has no terminal: no prompt.
    base = ["user", "create", "--email", "chair@example.org", "--name", "Chair", "--role", "admin"]
    piped = _podium(base, env=sqlite_env, stdin="a long password\n")
    assert piped.returncode == 0, piped.stderr
    assert "chair@example.org (admin) created" in piped.stdout
    explicit = _podium(
        ["user", "create", "--email", "b@example.org", "--name", "B", "--password-stdin"],
        env=sqlite_env,
        stdin="another long password\n",
    )
    assert explicit.returncode == 0, explicit.stderr


def test_user_create_without_a_password_says_how_to_give_one(sqlite_env) -> None:
    result = _podium(
        ["user", "create", "--email", "c@example.org", "--name", "C"], env=sqlite_env, stdin=""
    )
    assert result.returncode == 1
    assert "--password-stdin" in result.stderr
    assert "Aborted" not in result.stderr + result.stdout
    both = _podium(
        [
            "user",
            "create",
            "--email",
            "c@example.org",
            "--name",
            "C",
            "--password",
            "x" * 12,
            "--password-stdin",
        ],
        env=sqlite_env,
        stdin="y" * 12,
    )
    assert both.returncode == 1
    assert "not both" in both.stderr


@pytest.mark.postgres
def test_replicas_migrate_one_at_a_time(postgres_admin_url: str) -> None:
    """Migrations wait for the advisory lock; replicas started together all succeed."""
    name = f"podium_test_lock_{os.getpid()}_{int(time.time())}"
    _admin_execute(postgres_admin_url, f'CREATE DATABASE "{name}"')
    url = _database_url(postgres_admin_url, name)
    engine = make_engine(url)
    try:
        holder = engine.connect()
        holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": LOCK})
        holder.commit()
        env = {"PODIUM_DATABASE_URL": url}
        replicas = [
            subprocess.Popen(
                [*PODIUM, "db", "upgrade"],
                env={**os.environ, **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        # While another process holds the lock, nobody touches the schema.
        time.sleep(4)
        assert all(r.poll() is None for r in replicas)
        with engine.connect() as probe:
            tables = probe.execute(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema='public'")
            ).scalar_one()
        assert tables == 0
        holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK})
        holder.commit()
        holder.close()
        for replica in replicas:
            _, err = replica.communicate(timeout=120)
            assert replica.returncode == 0, err
        with engine.connect() as probe:
            heads = probe.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert len(heads) == 1
    finally:
        engine.dispose()
        _admin_execute(postgres_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
