"""Browser sessions: an HttpOnly cookie holding a session token, and CSRF protection.

A browser signs in with ``POST /auth/session``; the answer sets two cookies:

* ``podium_session``: the session token (an :class:`~backend.auth.models.ApiToken`
  of kind ``session``, stored only as its keyed hash), ``HttpOnly`` so no script
  can read it, ``SameSite=Lax`` so other sites' forms and scripts do not carry it;
* ``podium_csrf``: ``HMAC(secret key, session token)``, readable by the pages'
  scripts, which send it back in the ``X-CSRF-Token`` header of every request that
  changes something (double submit, signed: a value planted by another site
  cannot match, and the server stores nothing for it).

A request authenticated by the cookie with a method other than GET, HEAD or
OPTIONS must carry the header; the e-mail-only endpoints that change state
without a session (sign-in, sign-up, verification, reset) refuse a foreign
``Origin`` instead. Bearer tokens (scripts, CI) are never sent by a browser on
its own, so they need neither.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from fastapi import Request, Response

from backend.config import Settings
from backend.errors import ForbiddenError

SESSION_COOKIE = "podium_session"
CSRF_COOKIE = "podium_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_token(session_token: str, *, secret_key: str) -> str:
    """The CSRF value bound to one session token."""
    return hmac.new(
        secret_key.encode(), b"csrf:" + session_token.encode(), hashlib.sha256
    ).hexdigest()


def set_session_cookies(response: Response, *, token: str, settings: Settings) -> None:
    """Set the session and CSRF cookies for ``token``."""
    max_age = settings.session_ttl_hours * 3600
    secure = settings.secure_cookies
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token(token, secret_key=settings.secret_key),
        max_age=max_age,
        httponly=False,  # the pages' scripts echo it in X-CSRF-Token
        samesite="strict",
        secure=secure,
        path="/",
    )


def clear_session_cookies(response: Response, *, settings: Settings) -> None:
    """Expire both cookies."""
    for name in (SESSION_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", secure=settings.secure_cookies)


def session_token(request: Request) -> str | None:
    """The session cookie's token, if the request carries one."""
    return request.cookies.get(SESSION_COOKIE) or None


def check_csrf(request: Request, *, token: str, secret_key: str) -> None:
    """Refuse a cookie-authenticated state change without the matching CSRF header."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent, csrf_token(token, secret_key=secret_key)):
        raise ForbiddenError(
            "this request lacks the page's security token (CSRF): reload the page and try "
            "again; scripts should send `Authorization: Bearer <token>` instead of cookies"
        )


def check_same_origin(request: Request, *, settings: Settings) -> None:
    """Refuse a browser request sent from another site (``Origin`` not ours).

    Requests without ``Origin`` (curl, scripts) pass: only a browser attaches
    cookies by itself, and browsers send ``Origin`` on every POST.
    """
    origin = request.headers.get("origin")
    if not origin:
        return
    allowed = {request.headers.get("host", "")}
    if settings.public_url:
        allowed.add(urlsplit(settings.public_url).netloc)
    if urlsplit(origin).netloc not in allowed:
        raise ForbiddenError(f"requests from {origin} are not accepted here")


def client_address(request: Request) -> str | None:
    """The client's IP address (behind a proxy: run uvicorn with ``--proxy-headers``)."""
    return request.client.host if request.client else None
