"""Rules about accounts and tokens. Flushes only; the caller commits."""

from __future__ import annotations

import secrets
from datetime import timedelta

from sqlalchemy.orm import Session

from backend.audit import repository as audit
from backend.auth import repository
from backend.auth.models import ApiToken, User
from backend.auth.security import hash_password, hash_token, new_token, verify_password
from backend.db import utcnow
from backend.enums import Role
from backend.errors import ConflictError, DomainError, ForbiddenError, NotFoundError

MIN_PASSWORD = 10


def register(session: Session, *, email: str, password: str, display_name: str) -> User:
    """Create a participant account.

    Raises
    ------
    DomainError
        409 when the e-mail address is taken; 422 for a short password.
    """
    if len(password) < MIN_PASSWORD:
        raise DomainError(f"the password needs at least {MIN_PASSWORD} characters", 422)
    if repository.get_user_by_email(session, email) is not None:
        raise ConflictError(f"an account for {email} exists already: sign in instead")
    return repository.add_user(
        session,
        User(
            email=email,
            display_name=display_name,
            password_hash=hash_password(password),
            role=Role.PARTICIPANT,
        ),
    )


#: Checked against when the e-mail address has no account, so that a wrong address
#: costs the same scrypt as a wrong password and the timing tells nothing.
_NO_ACCOUNT_HASH = hash_password(secrets.token_urlsafe(16))


def issue_token(
    session: Session,
    *,
    user: User,
    name: str,
    secret_key: str,
    ttl_days: int | None,
    ttl: timedelta | None = None,
    kind: str = "api",
) -> tuple[ApiToken, str]:
    """A new token row and the token itself (returned once, never stored).

    ``ttl`` (exact) wins over ``ttl_days``; both ``None``: no expiry. ``kind``
    is ``api`` (named, for scripts) or ``session`` (a browser's cookie).
    """
    token = new_token()
    if ttl is None and ttl_days is not None:
        ttl = timedelta(days=ttl_days)
    row = repository.add_token(
        session,
        ApiToken(
            user_id=user.id,
            name=name,
            token_hash=hash_token(token, secret_key=secret_key),
            prefix=token[:8],
            kind=kind,
            expires_at=None if ttl is None else utcnow() + ttl,
        ),
    )
    return row, token


def check_password(session: Session, *, email: str, password: str) -> User:
    """The active account with this e-mail address and password; one message for every failure.

    Exactly one scrypt runs whichever way it fails. An address with a sign-up
    still waiting for its link, and the right password, is told to follow the link.
    """
    user = repository.get_user_by_email(session, email)
    if user is not None:
        ok = verify_password(password, user.password_hash) and user.is_active
    else:
        pending = repository.pending_signup(session, email=email, now=utcnow())
        stored = pending.password_hash if pending else None
        ok = verify_password(password, stored or _NO_ACCOUNT_HASH)
        if ok and pending is not None:
            raise DomainError(
                f"{email} is not confirmed yet: follow the link we e-mailed to it (or sign up "
                "again for a new link)",
                401,
            )
        ok = False
    if user is None or not ok:
        raise DomainError("wrong e-mail address or password", 401)
    return user


def login(
    session: Session, *, email: str, password: str, secret_key: str, ttl_days: int
) -> tuple[ApiToken, str]:
    """Check the password and issue a bearer token (``POST /auth/login``, for scripts)."""
    user = check_password(session, email=email, password=password)
    return issue_token(
        session, user=user, name="browser login", secret_key=secret_key, ttl_days=ttl_days
    )


def authenticate_token(session: Session, *, token: str, secret_key: str) -> User:
    """The active user owning a valid, unexpired, unrevoked token; 401 otherwise."""
    found = repository.token_with_user(session, hash_token(token, secret_key=secret_key))
    now = utcnow()
    if found is None:
        raise DomainError("the API token is not valid: sign in again", 401)
    row, user = found
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        raise DomainError("the API token has expired or was revoked: sign in again", 401)
    if not user.is_active:
        raise DomainError("this account is disabled", 401)
    return user


def revoke_token(session: Session, *, user: User, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens."""
    row = repository.get_token(session, token_id)
    if row is None or row.user_id != user.id:
        raise NotFoundError("token", token_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row


def set_role(session: Session, *, actor: User, user_id: int, role: Role) -> User:
    """Change a user's role (admins only), audited."""
    user = repository.get_user(session, user_id)
    if user is None:
        raise NotFoundError("user", user_id)
    if user.id == actor.id and role != Role.ADMIN:
        raise ForbiddenError("admins cannot demote themselves; ask another admin")
    before = {"role": user.role.value}
    user.role = role
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        action="user.role",
        target_type="user",
        target_id=user.id,
        before=before,
        after={"role": role.value},
    )
    return user
