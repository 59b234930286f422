"""All SQL about users and tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.auth.models import AccountToken, ApiToken, User
from backend.enums import Role


def get_user(session: Session, user_id: int) -> User | None:
    """The user, or ``None``."""
    return session.get(User, user_id)


def get_user_by_email(session: Session, email: str) -> User | None:
    """The user with this e-mail address (case-insensitive), or ``None``."""
    stmt = select(User).where(func.lower(User.email) == email.lower())
    return session.scalars(stmt).one_or_none()


def add_user(session: Session, user: User) -> User:
    """Insert a user."""
    session.add(user)
    session.flush()
    return user


def token_with_user(session: Session, token_hash: str) -> tuple[ApiToken, User] | None:
    """The token with this hash and its owner."""
    stmt = (
        select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_hash)
    )
    row = session.execute(stmt).one_or_none()
    return None if row is None else (row[0], row[1])


def add_token(session: Session, token: ApiToken) -> ApiToken:
    """Insert a token row."""
    session.add(token)
    session.flush()
    return token


def tokens_of(session: Session, user_id: int, *, kind: str | None = None) -> list[ApiToken]:
    """A user's tokens (of one kind, if given), newest first."""
    stmt = select(ApiToken).where(ApiToken.user_id == user_id)
    if kind is not None:
        stmt = stmt.where(ApiToken.kind == kind)
    return list(session.scalars(stmt.order_by(ApiToken.id.desc())))


def revoke_tokens(session: Session, *, user_id: int, kind: str, now: datetime) -> None:
    """Revoke every live token of a kind (e.g. all browser sessions after a password reset)."""
    session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.kind == kind, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def add_account_token(session: Session, row: AccountToken) -> AccountToken:
    """Insert a pending sign-up or reset."""
    session.add(row)
    session.flush()
    return row


def get_account_token(session: Session, row_id: int) -> AccountToken | None:
    """A pending sign-up or reset by id."""
    return session.get(AccountToken, row_id)


def account_token_by_hash(
    session: Session, *, purpose: str, token_hash: str
) -> AccountToken | None:
    """The sign-up or reset whose link carries the token with this hash."""
    stmt = select(AccountToken).where(
        AccountToken.purpose == purpose, AccountToken.token_hash == token_hash
    )
    return session.scalars(stmt).one_or_none()


def pending_signup(session: Session, *, email: str, now: datetime) -> AccountToken | None:
    """The newest unexpired, unused, e-mailed sign-up for this address."""
    stmt = (
        select(AccountToken)
        .where(
            func.lower(AccountToken.email) == email.lower(),
            AccountToken.purpose == "signup",
            AccountToken.used_at.is_(None),
            AccountToken.token_hash.is_not(None),
            AccountToken.expires_at > now,
        )
        .order_by(AccountToken.id.desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def use_account_tokens(session: Session, *, email: str, purpose: str, now: datetime) -> None:
    """Mark every open sign-up or reset of an address used (one link redeemed ends the rest)."""
    session.execute(
        update(AccountToken)
        .where(
            func.lower(AccountToken.email) == email.lower(),
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now)
    )


def get_token(session: Session, token_id: int) -> ApiToken | None:
    """The token row, or ``None``."""
    return session.get(ApiToken, token_id)


def organisers(session: Session) -> list[User]:
    """Every active organiser and admin (they manage every challenge here)."""
    stmt = select(User).where(User.role.in_((Role.ORGANISER, Role.ADMIN)), User.is_active.is_(True))
    return list(session.scalars(stmt.order_by(User.id)))
