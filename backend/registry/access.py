"""Which registry scopes a person gets: the token server's rules.

* A member of an approved team may ``pull``, ``push`` and ``delete`` in
  ``<challenge>/<team slug>/…`` (:mod:`backend.registry.namespaces`).
* Organisers and admins may ``pull`` everything (and write only where a team of
  theirs may).
* Nobody else gets anything; Podium's own repositories of submitted images
  (``<challenge>/<team slug>``) are written by Podium alone.

Every refusal carries a sentence saying why, returned by the token endpoint
and recorded in the audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.auth.roles import is_organiser
from backend.challenges import repository as challenges
from backend.registry.namespaces import split_repository, team_prefix
from backend.registry.tokens import ACTIONS, Access, is_repository_name
from backend.teams import repository as teams


@dataclass(frozen=True, slots=True)
class Refusal:
    """A requested scope (or part of it) that was not granted, and why."""

    scope: str
    actions: tuple[str, ...]
    reason: str


@dataclass(slots=True)
class Decision:
    """What a token will allow, and what it will not."""

    granted: list[Access] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    @property
    def refused_push(self) -> bool:
        """Whether a push (or delete) was asked for and refused."""
        return any(set(r.actions) & {"push", "delete"} for r in self.refused)


def _wanted(access: Access) -> tuple[str, ...]:
    if "*" in access.actions:
        return ACTIONS
    return tuple(a for a in access.actions if a in ACTIONS)


def _team_rule(session: Session, *, user: User, name: str) -> str | None:
    """``None`` when ``user`` may write ``name``; otherwise the reason they may not."""
    path = split_repository(name)
    challenge = challenges.get_challenge_by_slug(session, path.challenge)
    if challenge is None:
        return (
            f"there is no challenge {path.challenge!r}: repositories are named "
            "<challenge>/<team>/<image>"
        )
    team = teams.team_of(session, user_id=user.id, challenge_id=challenge.id)
    if team is None:
        return f"you are not in a team of {challenge.slug}: create or join one first"
    mine = team_prefix(challenge.slug, team.slug)
    if path.team != team.slug:
        return f"{name} is not your team's; your team {team.name!r} pushes to {mine}<image>"
    if path.image is None:
        return (
            f"{name} holds Podium's copies of your submitted images and only Podium writes "
            f"it; push to {mine}<image>"
        )
    if not team.approved:
        return f"team {team.name!r} is waiting for an organiser's approval"
    return None


def decide(session: Session, *, user: User, requested: list[Access]) -> Decision:
    """Grant ``user`` what the rules allow of ``requested``."""
    decision = Decision()
    for access in requested:
        wanted = _wanted(access)
        if access.type != "repository":
            decision.refused.append(
                Refusal(access.scope, wanted or access.actions, "only repository scopes exist")
            )
            continue
        if not is_repository_name(access.name):
            decision.refused.append(
                Refusal(access.scope, wanted, f"{access.name!r} is not a valid repository name")
            )
            continue
        write_refusal = _team_rule(session, user=user, name=access.name)
        allowed = set(ACTIONS) if write_refusal is None else set()
        if is_organiser(user):
            allowed.add("pull")
        granted = tuple(a for a in wanted if a in allowed)
        denied = tuple(a for a in wanted if a not in allowed)
        if granted:
            decision.granted.append(Access(access.type, access.name, granted))
        if denied:
            reason = write_refusal or "not allowed"
            decision.refused.append(Refusal(access.scope, denied, reason))
    return decision
