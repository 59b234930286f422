"""Errors that carry meaning: a message for the person and an HTTP status.

Services raise :class:`DomainError`; ``backend.main`` turns it into one JSON
shape. This module imports no web framework so that the worker can use the
repositories that raise these.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal the caller can act on.

    Parameters
    ----------
    message
        What went wrong and, where possible, how to fix it.
    status
        The HTTP status the API answers with.
    detail
        Optional machine-readable context (returned as ``detail``).
    """

    #: Extra response headers (e.g. ``Retry-After`` of a rate limit).
    headers: dict[str, str] | None = None

    def __init__(self, message: str, status: int = 400, *, detail: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.detail = detail


class NotFoundError(DomainError):
    """404 for a named thing."""

    def __init__(self, what: str, key: object) -> None:
        super().__init__(f"{what} {key} does not exist", 404)


class ForbiddenError(DomainError):
    """403: authenticated, but not allowed."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 403)


class ConflictError(DomainError):
    """409: the request clashes with the current state."""

    def __init__(self, message: str, *, detail: Any = None) -> None:
        super().__init__(message, 409, detail=detail)
