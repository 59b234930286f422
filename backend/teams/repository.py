"""All SQL about teams and memberships."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.challenges.models import Challenge
from backend.submissions.models import Submission
from backend.teams.models import Membership, Team


def get_team(session: Session, team_id: int) -> Team | None:
    """The team, or ``None``."""
    return session.get(Team, team_id)


def get_team_by_invite(session: Session, code: str) -> Team | None:
    """The team with this invitation code."""
    return session.scalars(select(Team).where(Team.invite_code == code)).one_or_none()


def team_of(session: Session, *, user_id: int, challenge_id: int) -> Team | None:
    """The user's team in a challenge (at most one, by constraint)."""
    stmt = (
        select(Team)
        .join(Membership, Membership.team_id == Team.id)
        .where(Membership.user_id == user_id, Membership.challenge_id == challenge_id)
    )
    return session.scalars(stmt).one_or_none()


def membership(session: Session, *, user_id: int, challenge_id: int) -> Membership | None:
    """The user's membership in a challenge."""
    stmt = select(Membership).where(
        Membership.user_id == user_id, Membership.challenge_id == challenge_id
    )
    return session.scalars(stmt).one_or_none()


def members(session: Session, team_id: int) -> list[User]:
    """A team's members, by id."""
    stmt = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.team_id == team_id)
        .order_by(User.id)
    )
    return list(session.scalars(stmt))


def teams_of_challenge(session: Session, challenge_id: int) -> list[Team]:
    """Every team of a challenge, by name."""
    stmt = select(Team).where(Team.challenge_id == challenge_id).order_by(Team.name)
    return list(session.scalars(stmt))


def has_submitted(session: Session, team_id: int) -> bool:
    """Whether the team has ever submitted."""
    stmt = select(Submission.id).where(Submission.team_id == team_id).limit(1)
    return session.scalar(stmt) is not None


def slugs_taken(session: Session, *, challenge_id: int, prefix: str) -> set[str]:
    """The team slugs of a challenge that start with ``prefix``."""
    stmt = select(Team.slug).where(
        Team.challenge_id == challenge_id, Team.slug.startswith(prefix, autoescape=True)
    )
    return set(session.scalars(stmt))


def get_team_by_slug(session: Session, *, challenge_id: int, slug: str) -> Team | None:
    """The team with this slug in a challenge."""
    stmt = select(Team).where(Team.challenge_id == challenge_id, Team.slug == slug)
    return session.scalars(stmt).one_or_none()


def teams_of_user(session: Session, user_id: int) -> list[tuple[Team, Challenge]]:
    """The user's teams with their challenges, by challenge slug."""
    stmt = (
        select(Team, Challenge)
        .join(Membership, Membership.team_id == Team.id)
        .join(Challenge, Challenge.id == Team.challenge_id)
        .where(Membership.user_id == user_id)
        .order_by(Challenge.slug)
    )
    return [(team, challenge) for team, challenge in session.execute(stmt).all()]


def get_team_by_name(session: Session, *, challenge_id: int, name: str) -> Team | None:
    """The team with this name in a challenge."""
    stmt = select(Team).where(Team.challenge_id == challenge_id, Team.name == name)
    return session.scalars(stmt).one_or_none()
