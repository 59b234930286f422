"""``podium db``, ``podium user`` and ``podium serve``: schema, accounts, the server."""

from __future__ import annotations

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


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    role: Annotated[Role, typer.Option()] = Role.PARTICIPANT,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create an account (e.g. the first admin)."""
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
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the API with uvicorn (migrate first with `podium db upgrade`)."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    uvicorn.run("backend.main:create_app", factory=True, host=host, port=port)
