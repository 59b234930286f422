"""``podium db``, ``podium user`` and ``podium serve``: schema, accounts, the server."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from alembic.config import Config

from backend.auth import repository as users
from backend.auth import service as auth
from backend.cli.app import app, db_app, user_app
from backend.cli.common import fail, transaction
from backend.config import get_settings
from backend.enums import Role
from backend.errors import DomainError
from backend.logs import configure_logging

_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str) -> Config:
    """Alembic's config for this checkout, pointed at ``database_url``."""
    config = Config(str(_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    return config


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations (``alembic upgrade head``) to PODIUM_DATABASE_URL."""
    command.upgrade(alembic_config(get_settings().database_url), revision)


def _password(given: str | None, *, from_stdin: bool) -> str:
    """The password from the option, from stdin, or asked for twice on a terminal."""
    if given is not None and from_stdin:
        raise fail("give the password with --password or --password-stdin, not both")
    if given is not None:
        return given
    if from_stdin or not sys.stdin.isatty():
        # The first line, as `docker login --password-stdin` reads it.
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise fail(
                "no password on stdin: pipe it in (`printf '%s' \"$PW\" | podium user "
                "create ... --password-stdin`), or use --password"
            )
        return password
    answer: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return answer


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    role: Annotated[Role, typer.Option()] = Role.PARTICIPANT,
    password: Annotated[
        str | None,
        typer.Option(help="The password (visible in the shell's history: prefer stdin)."),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option("--password-stdin", help="Read the password from the first line of stdin."),
    ] = False,
) -> None:
    """Create an account (e.g. the first admin).

    The password comes from --password, from stdin (--password-stdin, or whenever
    stdin is not a terminal, as under `docker compose exec -T`), or is asked for twice.
    """
    password = _password(password, from_stdin=password_stdin)
    try:
        with transaction() as session:
            user = auth.register(session, email=email, password=password, display_name=name)
            user.role = role
            typer.echo(f"user {user.id} {email} ({role.value}) created")
    except DomainError as exc:
        raise fail(exc.message) from exc


@user_app.command("token")
def user_token(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()] = "cli",
) -> None:
    """Issue an API token for a user and print it (shown once)."""
    settings = get_settings()
    with transaction() as session:
        user = users.get_user_by_email(session, email)
        if user is None:
            raise fail(f"no user {email}")
        _, token = auth.issue_token(
            session, user=user, name=name, secret_key=settings.secret_key, ttl_days=None
        )
    typer.echo(token)


@app.command("serve")
def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    migrate: Annotated[
        bool, typer.Option(help="Apply migrations first (one replica at a time).")
    ] = False,
    proxy_headers: Annotated[
        bool, typer.Option(help="Trust X-Forwarded-* (behind a reverse proxy).")
    ] = False,
) -> None:
    """Run the API with uvicorn; every log line, uvicorn's and Alembic's too, as structlog's.

    With --migrate, `alembic upgrade head` runs first in this process; on
    PostgreSQL under an advisory lock, so replicas starting together migrate once.
    """
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    settings = get_settings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    if migrate:
        config = alembic_config(settings.database_url)
        # Alembic's own logging set-up (alembic.ini) would replace ours with plain text.
        config.attributes["configure_logger"] = False
        command.upgrade(config, "head")
    uvicorn.run(
        "backend.main:create_app",
        factory=True,
        host=host,
        port=port,
        # None: uvicorn leaves logging alone, so its loggers reach our JSON handler.
        log_config=None,
        # One `request` line per request is the API's own (backend.main).
        access_log=False,
        proxy_headers=proxy_headers,
        forwarded_allow_ips="*" if proxy_headers else None,
    )
