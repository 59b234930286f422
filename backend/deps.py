"""Dependencies as ``Annotated`` aliases: the session, the settings and one per role."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.auth import accounts
from backend.auth import service as auth_service
from backend.auth.models import User
from backend.auth.ratelimit import DatabaseRateLimiter, RateLimiter, RedisRateLimiter
from backend.auth.roles import is_admin, is_organiser
from backend.config import Settings
from backend.errors import DomainError, ForbiddenError
from backend.jobs import bind_queue
from backend.notifications.hooks import bind_notifications
from backend.storage import Storage, make_storage
from backend.web.sessions import check_csrf, session_token


def get_settings(request: Request) -> Settings:
    """The application's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_storage(request: Request) -> Storage:
    """The application's storage (made from its settings on first use, then kept)."""
    state = request.app.state
    storage: Storage | None = getattr(state, "storage", None)
    if storage is None:
        storage = state.storage = make_storage(state.settings)
    return storage


class SessionSlots:
    """At most ``capacity`` request sessions open at once, waited for in the event loop.

    Handlers and dependencies run on a bounded thread pool. Without this limit,
    under load every pool thread can be waiting for a database connection while
    the sessions holding all connections wait for a thread to finish, and every
    request stalls until the pool timeout (seen with 200 clients: 500s after
    30 s). Waiting here, before the session exists, holds no thread. One
    semaphore per event loop (test clients may run several loops).

    Parameters
    ----------
    capacity
        The connection pool's size plus overflow; ``None`` for no limit.
    """

    def __init__(self, capacity: int | None) -> None:
        self.capacity = capacity
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )

    def _semaphore(self) -> asyncio.Semaphore | None:
        if self.capacity is None:
            return None
        loop = asyncio.get_running_loop()
        semaphore = self._by_loop.get(loop)
        if semaphore is None:
            semaphore = self._by_loop[loop] = asyncio.Semaphore(self.capacity)
        return semaphore

    async def acquire(self) -> None:
        """Wait for a free slot."""
        semaphore = self._semaphore()
        if semaphore is not None:
            await semaphore.acquire()

    def release(self) -> None:
        """Give a slot back."""
        semaphore = self._semaphore()
        if semaphore is not None:
            semaphore.release()


async def _session_slot(request: Request) -> AsyncIterator[None]:
    slots: SessionSlots = request.app.state.session_slots
    await slots.acquire()
    request.state.session_slot_held = True
    try:
        yield
    finally:
        if request.state.session_slot_held:
            request.state.session_slot_held = False
            slots.release()


@asynccontextmanager
async def session_released(request: Request, session: Session) -> AsyncIterator[None]:
    """End the request's transaction and give its session slot back while the body arrives.

    An upload can take minutes; neither a transaction nor one of the limited
    session slots may be held meanwhile. The slot is taken again on the way out.
    """
    await run_in_threadpool(session.rollback)
    slots: SessionSlots = request.app.state.session_slots
    if request.state.session_slot_held:
        request.state.session_slot_held = False
        slots.release()
    try:
        yield
    finally:
        await slots.acquire()
        request.state.session_slot_held = True


def get_session(
    request: Request, _slot: Annotated[None, Depends(_session_slot, scope="function")]
) -> Iterator[Session]:
    """One session per request: committed when the handler returns, rolled back if it raises.

    Scoped to the handler function so the commit happens before the response is
    sent: a failed commit is the client's error response, not a silent loss.
    Jobs enqueued during the request are sent after this commit.
    """
    session: Session = request.app.state.session_factory()
    bind_queue(session, request.app.state.job_queue)
    bind_notifications(session, queue_name=request.app.state.settings.notification_queue)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def rate_limiter(request: Request) -> RateLimiter:
    """The app's sign-in/sign-up/reset limiter (Redis when configured, else the database)."""
    state = request.app.state
    limiter: RateLimiter | None = getattr(state, "rate_limiter", None)
    if limiter is None:
        settings: Settings = state.settings
        if settings.rate_limit_redis_url:
            limiter = RedisRateLimiter(settings.rate_limit_redis_url)
        else:
            limiter = DatabaseRateLimiter(state.session_factory)
        state.rate_limiter = limiter
    return limiter


SettingsDep = Annotated[Settings, Depends(get_settings)]
StorageDep = Annotated[Storage, Depends(get_storage)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token from `POST /api/v1/auth/login` or `POST /api/v1/auth/tokens`.",
)


def get_optional_user(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User | None:
    """The caller: by bearer token (401 when bad), else by the browser's session cookie.

    A stale cookie counts as signed out (public pages stay readable); a cookie
    used for a state change must come with its CSRF header (403 otherwise).
    """
    if credentials is not None:
        return auth_service.authenticate_token(
            session, token=credentials.credentials, secret_key=settings.secret_key
        )
    token = session_token(request)
    if token is None:
        return None
    user = accounts.session_user(session, token=token, secret_key=settings.secret_key)
    if user is not None:
        check_csrf(request, token=token, secret_key=settings.secret_key)
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def get_current_user(user: OptionalUser) -> User:
    """The signed-in user, or 401."""
    if user is None:
        raise DomainError(
            "sign in first: on the page (Account), or send `Authorization: Bearer <token>` "
            "(get one from POST /api/v1/auth/login)",
            401,
        )
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def get_organiser(user: CurrentUser) -> User:
    """An organiser or admin, or 403."""
    if not is_organiser(user):
        raise ForbiddenError("only organisers may do this")
    return user


OrganiserUser = Annotated[User, Depends(get_organiser)]


def get_admin(user: CurrentUser) -> User:
    """An admin, or 403."""
    if not is_admin(user):
        raise ForbiddenError("only admins may do this")
    return user


AdminUser = Annotated[User, Depends(get_admin)]
