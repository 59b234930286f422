"""A team's pushed repositories and tags: the registry's catalog, with the recorded pushes.

The registry is the truth about what exists (a lost notification changes
nothing); the notifications add when each tag was last pushed, by whom, and
its digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.challenges import repository as challenges
from backend.config import Settings
from backend.errors import ForbiddenError, NotFoundError
from backend.registry import repository, service
from backend.registry.client import RegistryUnavailable
from backend.registry.namespaces import team_prefix
from backend.teams import repository as teams

_NEVER = datetime.min.replace(tzinfo=UTC)
#: At most this many repositories are listed for one team.
MAX_REPOSITORIES = 100


@dataclass(frozen=True, slots=True)
class PushedTag:
    """One tag of a team's repository."""

    tag: str
    reference: str
    digest: str | None
    pushed_at: datetime | None
    pushed_by: str | None


@dataclass(frozen=True, slots=True)
class PushedRepository:
    """One of a team's repositories."""

    repository: str
    reference: str
    tags: list[PushedTag]


@dataclass(frozen=True, slots=True)
class TeamImages:
    """Where a team pushes in a challenge and what it has pushed."""

    challenge: str
    prefix: str
    repositories: list[PushedRepository]


def team_images(
    session: Session, *, settings: Settings, user: User, challenge_slug: str
) -> TeamImages:
    """The repositories and tags under the user's team prefix in a challenge.

    Raises
    ------
    DomainError
        404 (no registry, no challenge), 403 (no team there), 503 (registry down).
    """
    service.require_enabled(settings)
    challenge = challenges.get_challenge_by_slug(session, challenge_slug)
    if challenge is None:
        raise NotFoundError("challenge", challenge_slug)
    team = teams.team_of(session, user_id=user.id, challenge_id=challenge.id)
    if team is None:
        raise ForbiddenError(f"you are not in a team of {challenge.slug}")
    prefix = team_prefix(challenge.slug, team.slug)
    host = settings.registry_address
    try:
        with service.client(settings) as registry:
            names = [n for n in registry.catalog() if n.startswith(prefix)][:MAX_REPOSITORIES]
            tags = {name: registry.tags(name) for name in names}
    except RegistryUnavailable as exc:
        raise service.unavailable(exc) from exc
    pushes = repository.latest_pushes(session, repositories=names)
    found = []
    for name in names:
        listed = []
        for tag in tags[name]:
            event = pushes.get((name, tag))
            listed.append(
                PushedTag(
                    tag=tag,
                    reference=f"{host}/{name}:{tag}",
                    digest=None if event is None else event.digest,
                    pushed_at=None if event is None else event.at,
                    pushed_by=None if event is None else event.actor,
                )
            )
        # Newest push first; tags never seen in a notification last, by name.
        listed.sort(key=lambda t: t.tag)
        listed.sort(key=lambda t: t.pushed_at or _NEVER, reverse=True)
        found.append(PushedRepository(repository=name, reference=f"{host}/{name}", tags=listed))
    return TeamImages(challenge=challenge.slug, prefix=f"{host}/{prefix}", repositories=found)
