"""Accounts, login and tokens."""

from __future__ import annotations

from fastapi import APIRouter, status

from backend.auth import repository, service
from backend.auth.schemas import (
    IssuedTokenOut,
    LoginIn,
    RegisterIn,
    RoleIn,
    TokenIn,
    TokenOut,
    UserOut,
)
from backend.deps import AdminUser, CurrentUser, SessionDep, SettingsDep

router = APIRouter(tags=["auth"])


def _issued(row: object, token: str) -> IssuedTokenOut:
    return IssuedTokenOut.model_validate(
        {**TokenOut.model_validate(row).model_dump(), "token": token}
    )


@router.post("/auth/register", status_code=status.HTTP_201_CREATED, response_model=UserOut)
def register(body: RegisterIn, session: SessionDep) -> UserOut:
    """Create a participant account (409 if the e-mail address is taken)."""
    user = service.register(
        session, email=body.email, password=body.password, display_name=body.display_name
    )
    return UserOut.model_validate(user)


@router.post("/auth/login", response_model=IssuedTokenOut)
def login(body: LoginIn, session: SessionDep, settings: SettingsDep) -> IssuedTokenOut:
    """Exchange e-mail address and password for a bearer token (for the browser)."""
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
    """The signed-in user's tokens (metadata only)."""
    return [TokenOut.model_validate(t) for t in repository.tokens_of(session, user.id)]


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
