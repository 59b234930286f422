"""What every command shares: the transaction, the acting organiser, errors, ``--as``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from backend.auth import repository as users
from backend.auth.models import User
from backend.auth.roles import is_organiser
from backend.config import get_settings
from backend.db import make_engine, make_session_factory
from backend.errors import DomainError

#: ``--as EMAIL`` where it may be left out (the shell's operator is then recorded as nobody).
ActorOption = Annotated[
    str | None, typer.Option("--as", help="Organiser recorded in the audit trail.")
]
#: ``--as EMAIL`` where the service needs a person (publishing, the organisers' exports).
RequiredActorOption = Annotated[
    str, typer.Option("--as", help="Organiser acting (recorded in the audit trail).")
]


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` to stderr; raise the returned exit (status 1)."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


@contextmanager
def transaction() -> Iterator[Session]:
    """One session in one transaction: committed once at the end, rolled back on error.

    Jobs enqueued inside are sent when it commits (bind a queue first); files a
    service registered for deletion are removed if it rolls back.
    """
    engine = make_engine(get_settings().database_url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            yield session
    finally:
        engine.dispose()


def organiser(session: Session, email: str) -> User:
    """The organiser (or admin) with this e-mail, or a 404 naming it."""
    user = users.get_user_by_email(session, email)
    if user is None or not is_organiser(user):
        raise DomainError(f"no organiser {email}", 404)
    return user


def optional_organiser(session: Session, email: str | None) -> User | None:
    """:func:`organiser` when ``--as`` was given, else ``None`` (the shell's operator)."""
    return None if email is None else organiser(session, email)
