"""All SQL about users and tokens."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.auth.models import ApiToken, User


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


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    """A user's tokens, newest first."""
    stmt = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
    return list(session.scalars(stmt))


def get_token(session: Session, token_id: int) -> ApiToken | None:
    """The token row, or ``None``."""
    return session.get(ApiToken, token_id)
