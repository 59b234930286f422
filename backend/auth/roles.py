"""Who may do what by platform role: the one place the role rules live."""

from __future__ import annotations

from backend.auth.models import User
from backend.enums import Role

#: Roles that run challenges here (they see every team, log and score).
ORGANISER_ROLES = frozenset({Role.ORGANISER, Role.ADMIN})


def is_organiser(user: User | None) -> bool:
    """Whether ``user`` runs challenges here (organisers and admins; ``None``: no one)."""
    return user is not None and user.role in ORGANISER_ROLES


def is_admin(user: User | None) -> bool:
    """Whether ``user`` administers the platform (accounts and roles)."""
    return user is not None and user.role == Role.ADMIN
