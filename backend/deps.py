"""Dependencies as ``Annotated`` aliases: the session, the settings and one per role."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from backend.auth import service as auth_service
from backend.auth.models import User
from backend.config import Settings
from backend.enums import Role
from backend.errors import DomainError, ForbiddenError
from backend.jobs import bind_queue


def get_settings(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: committed when the handler returns, rolled back if it raises.

    Scoped to the handler function so the commit happens before the response is
    sent: a failed commit is the client's error response, not a silent loss.
    Jobs enqueued during the request are sent after this commit.
    """
    session: Session = request.app.state.session_factory()
    bind_queue(session, request.app.state.job_queue)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token from `POST /api/v1/auth/login` or `POST /api/v1/auth/tokens`.",
)


def get_optional_user(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The token's user, ``None`` when no token is sent; 401 for a bad token."""
    if credentials is None:
        return None
    return auth_service.authenticate_token(
        session, token=credentials.credentials, secret_key=settings.secret_key
    )


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def get_current_user(user: OptionalUser) -> User:
    """The signed-in user, or 401."""
    if user is None:
        raise DomainError(
            "sign in first: send `Authorization: Bearer <token>` (get one from "
            "POST /api/v1/auth/login)",
            401,
        )
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_organiser(user: CurrentUser) -> User:
    """An organiser or admin, or 403."""
    if user.role not in (Role.ORGANISER, Role.ADMIN):
        raise ForbiddenError("only organisers may do this")
    return user


OrganiserUser = Annotated[User, Depends(get_organiser)]


def get_admin(user: CurrentUser) -> User:
    """An admin, or 403."""
    if user.role != Role.ADMIN:
        raise ForbiddenError("only admins may do this")
    return user


AdminUser = Annotated[User, Depends(get_admin)]
