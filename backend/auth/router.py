"""Accounts, login and tokens."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status
from sqlalchemy.orm import Session

from backend.auth import accounts, ratelimit, repository, service
from backend.auth.models import User
from backend.auth.schemas import (
    IssuedTokenOut,
    LinkTokenIn,
    LoginIn,
    MessageOut,
    RegisterIn,
    ResetConfirmIn,
    ResetRequestIn,
    RoleIn,
    TokenIn,
    TokenOut,
    UserOut,
)
from backend.config import Settings
from backend.deps import AdminUser, CurrentUser, SessionDep, SettingsDep, rate_limiter
from backend.web.sessions import (
    check_csrf,
    check_same_origin,
    clear_session_cookies,
    client_address,
    session_token,
    set_session_cookies,
)

router = APIRouter(tags=["auth"])


def _limit(request: Request, settings: Settings, *, action: str, what: str, email: str) -> None:
    ratelimit.check(
        rate_limiter(request),
        action=action,
        what=what,
        email=email,
        client_ip=client_address(request),
        per_address=settings.auth_rate_per_address,
        per_ip=settings.auth_rate_per_ip,
        window_s=settings.auth_rate_window_s,
    )


def _start_session(session: Session, response: Response, *, user: User, settings: Settings) -> None:
    _, token = service.issue_token(
        session,
        user=user,
        name="browser session",
        secret_key=settings.secret_key,
        ttl_days=None,
        ttl=timedelta(hours=settings.session_ttl_hours),
        kind=accounts.SESSION_KIND,
    )
    set_session_cookies(response, token=token, settings=settings)


def _issued(row: object, token: str) -> IssuedTokenOut:
    return IssuedTokenOut.model_validate(
        {**TokenOut.model_validate(row).model_dump(), "token": token}
    )


@router.post("/auth/register", status_code=status.HTTP_202_ACCEPTED, response_model=MessageOut)
def register(
    body: RegisterIn, request: Request, session: SessionDep, settings: SettingsDep
) -> MessageOut:
    """Sign up: a link to confirm the address is e-mailed; the account exists once it is followed.

    The answer is the same whether or not the address has an account (an owner
    is e-mailed a note instead of a link). Rate-limited per address and client.
    """
    check_same_origin(request, settings=settings)
    _limit(request, settings, action="signup", what="sign-up requests", email=body.email)
    return MessageOut(
        message=accounts.request_signup(
            session,
            email=body.email,
            password=body.password,
            display_name=body.display_name,
            settings=settings,
        )
    )


@router.post("/auth/verify", response_model=UserOut)
def verify(
    body: LinkTokenIn,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> UserOut:
    """Follow the sign-up link: creates the account and signs this browser in."""
    check_same_origin(request, settings=settings)
    user = accounts.confirm_signup(session, token=body.token, settings=settings)
    _start_session(session, response, user=user, settings=settings)
    return UserOut.model_validate(user)


@router.post(
    "/auth/password-reset", status_code=status.HTTP_202_ACCEPTED, response_model=MessageOut
)
def request_reset(
    body: ResetRequestIn, request: Request, session: SessionDep, settings: SettingsDep
) -> MessageOut:
    """E-mail a link to choose a new password (the same answer for every address)."""
    check_same_origin(request, settings=settings)
    _limit(request, settings, action="reset", what="reset requests", email=body.email)
    return MessageOut(message=accounts.request_reset(session, email=body.email, settings=settings))


@router.post("/auth/password-reset/confirm", response_model=MessageOut)
def confirm_reset(
    body: ResetConfirmIn, request: Request, session: SessionDep, settings: SettingsDep
) -> MessageOut:
    """Set the new password from the reset link; every browser session of the account ends."""
    check_same_origin(request, settings=settings)
    user = accounts.confirm_reset(
        session, token=body.token, password=body.password, settings=settings
    )
    return MessageOut(message=f"the password of {user.email} is changed: sign in with it")


@router.post("/auth/session", response_model=UserOut)
def sign_in(
    body: LoginIn,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
) -> UserOut:
    """Sign a browser in: sets the HttpOnly session cookie and the CSRF cookie."""
    check_same_origin(request, settings=settings)
    _limit(request, settings, action="signin", what="sign-in attempts", email=body.email)
    user = service.check_password(session, email=body.email, password=body.password)
    _start_session(session, response, user=user, settings=settings)
    return UserOut.model_validate(user)


@router.delete("/auth/session", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(request: Request, session: SessionDep, settings: SettingsDep) -> Response:
    """Sign the browser out: its session token is revoked and the cookies cleared."""
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    token = session_token(request)
    if token is not None and accounts.session_user(
        session, token=token, secret_key=settings.secret_key
    ):
        check_csrf(request, token=token, secret_key=settings.secret_key)
        accounts.end_session(session, token=token, secret_key=settings.secret_key)
    clear_session_cookies(response, settings=settings)
    return response


@router.post("/auth/login", response_model=IssuedTokenOut)
def login(
    body: LoginIn, request: Request, session: SessionDep, settings: SettingsDep
) -> IssuedTokenOut:
    """Exchange e-mail address and password for a bearer token (scripts; rate-limited)."""
    _limit(request, settings, action="signin", what="sign-in attempts", email=body.email)
    row, token = service.login(
        session,
        email=body.email,
        password=body.password,
        secret_key=settings.secret_key,
        ttl_days=settings.token_ttl_days,
    )
    return _issued(row, token)


@router.get("/auth/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    """The signed-in user."""
    return UserOut.model_validate(user)


@router.post("/auth/tokens", status_code=status.HTTP_201_CREATED, response_model=IssuedTokenOut)
def create_token(
    body: TokenIn, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> IssuedTokenOut:
    """A named API token for scripts; the token is in this response only."""
    row, token = service.issue_token(
        session, user=user, name=body.name, secret_key=settings.secret_key, ttl_days=None
    )
    return _issued(row, token)


@router.get("/auth/tokens", response_model=list[TokenOut])
def list_tokens(user: CurrentUser, session: SessionDep) -> list[TokenOut]:
    """The signed-in user's named API tokens (metadata only; browser sessions are not listed)."""
    return [TokenOut.model_validate(t) for t in repository.tokens_of(session, user.id, kind="api")]


@router.delete("/auth/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: int, user: CurrentUser, session: SessionDep) -> TokenOut:
    """Revoke one of your tokens."""
    return TokenOut.model_validate(service.revoke_token(session, user=user, token_id=token_id))


@router.put("/admin/users/{user_id}/role", response_model=UserOut)
def set_role(user_id: int, body: RoleIn, admin: AdminUser, session: SessionDep) -> UserOut:
    """Make a user a participant, organiser or admin (admins only; audited)."""
    return UserOut.model_validate(
        service.set_role(session, actor=admin, user_id=user_id, role=body.role)
    )
