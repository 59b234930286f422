"""Registry bearer tokens (the Docker registry token specification) and their scopes.

A scope is ``type:name:actions`` (``repository:trials/hepatica/model:pull,push``).
A token is a short-lived JWT signed with Podium's key (:mod:`backend.registry.keys`)
whose ``access`` claim lists what the registry may allow; ``iss`` and ``aud``
must match the registry's ``auth.token.issuer`` and ``service``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt

from backend.db import utcnow
from backend.registry.keys import SigningKey

#: One path component of a repository name (distribution's reference grammar).
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
REPOSITORY_NAME = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
#: Longest repository name the registry accepts.
MAX_REPOSITORY = 255
#: Actions a repository scope may ask for; ``*`` is all of them.
ACTIONS = ("pull", "push", "delete")


@dataclass(frozen=True, slots=True)
class Access:
    """One entry of a token's ``access`` claim (or one requested scope)."""

    type: str
    name: str
    actions: tuple[str, ...]

    @property
    def scope(self) -> str:
        """The scope string this access is written as.

        Examples
        --------
        >>> Access("repository", "trials/a/m", ("pull", "push")).scope
        'repository:trials/a/m:pull,push'
        """
        return f"{self.type}:{self.name}:{','.join(self.actions)}"

    def claim(self) -> dict[str, object]:
        """The JSON the registry reads."""
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}


class ScopeError(ValueError):
    """A scope parameter that is not ``type:name:actions``."""


def is_repository_name(name: str) -> bool:
    """Whether ``name`` is a valid repository path.

    Examples
    --------
    >>> is_repository_name("trials/team-a/nnunet"), is_repository_name("Trials/x")
    (True, False)
    >>> is_repository_name("trials/team-/x")
    False
    """
    return len(name) <= MAX_REPOSITORY and REPOSITORY_NAME.match(name) is not None


def parse_scope(text: str) -> Access:
    """Parse one ``scope`` parameter.

    The name may itself hold colons only for other resource types; the type
    may carry a class (``repository(plugin)``), which is kept.

    Examples
    --------
    >>> parse_scope("repository:trials/a/m:push,pull")
    Access(type='repository', name='trials/a/m', actions=('pull', 'push'))
    >>> parse_scope("registry:catalog:*")
    Access(type='registry', name='catalog', actions=('*',))
    >>> parse_scope("repository:x")
    Traceback (most recent call last):
    ...
    backend.registry.tokens.ScopeError: scope 'repository:x' is not type:name:actions
    """
    kind, _, rest = text.partition(":")
    name, _, actions = rest.rpartition(":")
    if not kind or not name or not actions:
        raise ScopeError(f"scope {text!r} is not type:name:actions")
    wanted = {a.strip() for a in actions.split(",") if a.strip()}
    # A stable order makes equal requests produce equal claims.
    ordered = tuple(a for a in (*ACTIONS, "*") if a in wanted) + tuple(
        sorted(wanted - {*ACTIONS, "*"})
    )
    return Access(kind, name, ordered)


def parse_scopes(values: Iterable[str]) -> list[Access]:
    """Every scope of a request; a parameter may hold several separated by spaces."""
    return [parse_scope(part) for value in values for part in value.split() if part]


def mint(
    key: SigningKey,
    *,
    issuer: str,
    service: str,
    subject: str,
    access: Iterable[Access],
    ttl_s: float,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """A signed token and the moment it was issued.

    ``nbf`` is set a little in the past: the registry's clock may lag ours.
    """
    issued = (now or utcnow()).replace(microsecond=0)
    claims = {
        "iss": issuer,
        "sub": subject,
        "aud": service,
        "iat": int(issued.timestamp()),
        "nbf": int((issued - timedelta(seconds=30)).timestamp()),
        "exp": int((issued + timedelta(seconds=ttl_s)).timestamp()),
        "jti": secrets.token_urlsafe(16),
        "access": [a.claim() for a in access],
    }
    token = jwt.encode(claims, key.private_key, algorithm="ES256", headers={"kid": key.kid})
    return token, issued
