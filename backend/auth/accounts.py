"""Self-service accounts: sign-up confirmed by e-mail, password reset, browser sessions.

Asking to sign up or to reset a password does the same work whether or not the
address has an account: it stores a pending row and sends the job
``send_account_email`` after the commit. The job (run by a worker or the
embedded queue, never in the request) decides what to write: the confirmation
or reset link, a note that the account exists already, or nothing. So the
answer, its timing and the database writes of the request say nothing about
which addresses have accounts. Flushes only; the caller commits.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from backend.auth import repository
from backend.auth.models import AccountToken, ApiToken, User
from backend.auth.security import hash_password, hash_token
from backend.auth.service import MIN_PASSWORD
from backend.config import Settings
from backend.db import utcnow
from backend.enums import Role
from backend.errors import ConflictError, DomainError
from backend.jobs import enqueue

SIGNUP = "signup"
RESET = "reset"
SESSION_KIND = "session"
#: The job that writes the e-mail of a pending sign-up or reset (by row id).
SEND_ACCOUNT_EMAIL = "send_account_email"

SIGNUP_ANSWER = (
    "Check your inbox: we sent a link to {email} to confirm the address. The link works "
    "for {hours} hours. Nothing arrived? Look in the spam folder, or sign up again."
)
RESET_ANSWER = (
    "If {email} belongs to an account, a link to choose a new password is on its way. "
    "It works for {minutes} minutes."
)


def _check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise DomainError(f"the password needs at least {MIN_PASSWORD} characters", 422)


def request_signup(
    session: Session, *, email: str, password: str, display_name: str, settings: Settings
) -> str:
    """Store a pending sign-up and send its e-mail after the commit; the answer in words."""
    _check_password_rules(password)
    email = email.strip()
    row = repository.add_account_token(
        session,
        AccountToken(
            purpose=SIGNUP,
            email=email,
            display_name=display_name.strip(),
            password_hash=hash_password(password),
            expires_at=utcnow() + timedelta(hours=settings.verify_link_ttl_hours),
        ),
    )
    enqueue(session, task_name=SEND_ACCOUNT_EMAIL, args=[row.id], queue=settings.notification_queue)
    return SIGNUP_ANSWER.format(email=email, hours=settings.verify_link_ttl_hours)


def request_reset(session: Session, *, email: str, settings: Settings) -> str:
    """Store a pending reset and send its e-mail after the commit; the answer in words."""
    email = email.strip()
    row = repository.add_account_token(
        session,
        AccountToken(
            purpose=RESET,
            email=email,
            expires_at=utcnow() + timedelta(minutes=settings.reset_link_ttl_minutes),
        ),
    )
    enqueue(session, task_name=SEND_ACCOUNT_EMAIL, args=[row.id], queue=settings.notification_queue)
    return RESET_ANSWER.format(email=email, minutes=settings.reset_link_ttl_minutes)


def _redeemable(
    session: Session, *, purpose: str, token: str, secret_key: str, again: str
) -> AccountToken:
    row = repository.account_token_by_hash(
        session, purpose=purpose, token_hash=hash_token(token, secret_key=secret_key)
    )
    if row is None or row.used_at is not None:
        raise DomainError(f"this link is not valid or was used already: {again}", 400)
    if row.expires_at <= utcnow():
        raise DomainError(f"this link has expired: {again}", 400)
    return row


def confirm_signup(session: Session, *, token: str, settings: Settings) -> User:
    """Create the account of the sign-up whose e-mailed link carried ``token``.

    Raises
    ------
    DomainError
        400 for an unknown, used or expired link; 409 when the address has an
        account already (confirmed through another link, or made by an admin).
    """
    row = _redeemable(
        session, purpose=SIGNUP, token=token, secret_key=settings.secret_key, again="sign up again"
    )
    now = utcnow()
    if repository.get_user_by_email(session, row.email) is not None:
        row.used_at = now
        session.flush()
        raise ConflictError(f"the account for {row.email} exists already: sign in")
    assert row.password_hash is not None
    assert row.display_name is not None
    user = repository.add_user(
        session,
        User(
            email=row.email,
            display_name=row.display_name,
            password_hash=row.password_hash,
            role=Role.PARTICIPANT,
        ),
    )
    repository.use_account_tokens(session, email=row.email, purpose=SIGNUP, now=now)
    return user


def confirm_reset(session: Session, *, token: str, password: str, settings: Settings) -> User:
    """Set a new password through an e-mailed reset link; every browser session ends.

    Named API tokens stay valid (scripts keep working); revoke them on the tokens
    page if they may have leaked.
    """
    _check_password_rules(password)
    again = "ask for a new link on the sign-in page"
    row = _redeemable(
        session, purpose=RESET, token=token, secret_key=settings.secret_key, again=again
    )
    user = repository.get_user_by_email(session, row.email)
    if user is None or not user.is_active:
        raise DomainError(f"this link is not valid: {again}", 400)
    now = utcnow()
    user.password_hash = hash_password(password)
    repository.use_account_tokens(session, email=row.email, purpose=RESET, now=now)
    repository.revoke_tokens(session, user_id=user.id, kind=SESSION_KIND, now=now)
    session.flush()
    return user


def session_user(session: Session, *, token: str, secret_key: str) -> User | None:
    """The active user of a live browser-session token; ``None`` for a stale one."""
    found = repository.token_with_user(session, hash_token(token, secret_key=secret_key))
    if found is None:
        return None
    row, user = found
    if row.kind != SESSION_KIND or row.revoked_at is not None or not user.is_active:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    return user


def end_session(session: Session, *, token: str, secret_key: str) -> ApiToken | None:
    """Revoke a browser-session token (sign-out); ``None`` when it was not one."""
    found = repository.token_with_user(session, hash_token(token, secret_key=secret_key))
    if found is None or found[0].kind != SESSION_KIND:
        return None
    row = found[0]
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
    return row
