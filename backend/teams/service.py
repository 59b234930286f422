"""Rules about teams: one team per user and challenge, invitations, approval.

Membership changes after a team's first submission need an organiser, so a
quota cannot be multiplied by moving people between teams.
"""

from __future__ import annotations

import secrets

from sqlalchemy.orm import Session

from backend.audit import repository as audit
from backend.auth.models import User
from backend.auth.roles import is_organiser
from backend.challenges import repository as challenges
from backend.challenges.models import Challenge
from backend.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from backend.jobs import enqueue
from backend.notifications.tasks import NOTIFY_TEAM_WAITING
from backend.teams import repository
from backend.teams.models import Membership, Team
from backend.teams.slugs import numbered, team_slug


def _challenge(session: Session, slug: str) -> Challenge:
    challenge = challenges.get_challenge_by_slug(session, slug)
    if challenge is None:
        raise NotFoundError("challenge", slug)
    return challenge


def _ensure_free(session: Session, *, user: User, challenge: Challenge) -> None:
    team = repository.team_of(session, user_id=user.id, challenge_id=challenge.id)
    if team is not None:
        raise ConflictError(
            f"you are already in team {team.name!r} of {challenge.slug}; a person belongs to "
            "one team per challenge"
        )


def _free_slug(session: Session, *, challenge_id: int, name: str) -> str:
    """The name's slug, numbered when another team of the challenge has it already."""
    slug = team_slug(name)
    taken = repository.slugs_taken(session, challenge_id=challenge_id, prefix=slug[:20])
    number = 1
    candidate = slug
    while candidate in taken:
        number += 1
        candidate = numbered(slug, number)
    return candidate


def waiting_reason(team: Team) -> str | None:
    """Why ``team`` cannot submit yet, in words for its members; ``None`` once approved."""
    if team.approved:
        return None
    if team.review_note:
        return f"an organiser declined this team: {team.review_note}"
    return (
        "this challenge approves each team before it may submit; the organisers have been "
        "told and will review it"
    )


def create_team(
    session: Session,
    *,
    user: User,
    challenge_slug: str,
    name: str,
    notification_queue: str | None = None,
) -> Team:
    """Create a team captained by ``user`` (approved at once unless the challenge says not).

    A team that waits for approval has the organisers e-mailed (the job
    ``notify_team_waiting``, sent to ``notification_queue`` after the commit).
    """
    challenge = _challenge(session, challenge_slug)
    _ensure_free(session, user=user, challenge=challenge)
    if repository.get_team_by_name(session, challenge_id=challenge.id, name=name) is not None:
        raise ConflictError(f"a team called {name!r} exists already in {challenge.slug}")
    team = Team(
        challenge_id=challenge.id,
        name=name,
        slug=_free_slug(session, challenge_id=challenge.id, name=name),
        captain_id=user.id,
        approved=not challenge.requires_team_approval,
        organiser_affiliated=is_organiser(user),
        invite_code=secrets.token_urlsafe(18),
    )
    session.add(team)
    session.flush()
    session.add(Membership(team_id=team.id, user_id=user.id, challenge_id=challenge.id))
    session.flush()
    if not team.approved and notification_queue is not None:
        enqueue(session, task_name=NOTIFY_TEAM_WAITING, args=[team.id], queue=notification_queue)
    return team


def join_team(session: Session, *, user: User, challenge_slug: str, invite_code: str) -> Team:
    """Join the team whose captain gave out ``invite_code``."""
    challenge = _challenge(session, challenge_slug)
    team = repository.get_team_by_invite(session, invite_code)
    if team is None or team.challenge_id != challenge.id:
        raise DomainError("this invitation code is not valid for this challenge", 404)
    _ensure_free(session, user=user, challenge=challenge)
    if repository.has_submitted(session, team.id):
        raise ForbiddenError(
            f"team {team.name!r} has submitted already; after the first submission only an "
            "organiser can change its members"
        )
    session.add(Membership(team_id=team.id, user_id=user.id, challenge_id=challenge.id))
    session.flush()
    return team


def remove_member(session: Session, *, actor: User, team_id: int, user_id: int) -> None:
    """Remove a member: themselves or the captain before any submission; organisers always.

    A captain who leaves hands the team to its longest-standing member; the last
    member leaving dissolves the team (nothing was submitted, so nothing is lost).
    """
    team = repository.get_team(session, team_id)
    if team is None:
        raise NotFoundError("team", team_id)
    member = repository.membership(session, user_id=user_id, challenge_id=team.challenge_id)
    if member is None or member.team_id != team.id:
        raise NotFoundError("member", user_id)
    if not is_organiser(actor):
        if actor.id not in (user_id, team.captain_id):
            raise ForbiddenError("only the member themselves or the captain can remove a member")
        if repository.has_submitted(session, team.id):
            raise ForbiddenError(
                "this team has submitted already; ask an organiser to change its members"
            )
    session.delete(member)
    session.flush()
    if user_id == team.captain_id:
        # The longest-standing member takes over; a team left empty is dissolved.
        others = repository.members(session, team.id)
        if others:
            team.captain_id = others[0].id
        else:
            session.delete(team)
        session.flush()
    if is_organiser(actor):
        audit.record(
            session,
            actor_id=actor.id,
            action="team.remove_member",
            target_type="team",
            target_id=team.id,
            before={"user_id": user_id},
            after=None,
        )


def add_member(session: Session, *, actor: User, team_id: int, user_id: int) -> Team:
    """An organiser adds a user to a team (allowed after submissions; audited)."""
    team = repository.get_team(session, team_id)
    if team is None:
        raise NotFoundError("team", team_id)
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError("user", user_id)
    challenge = session.get(Challenge, team.challenge_id)
    assert challenge is not None
    _ensure_free(session, user=user, challenge=challenge)
    session.add(Membership(team_id=team.id, user_id=user.id, challenge_id=team.challenge_id))
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        action="team.add_member",
        target_type="team",
        target_id=team.id,
        before=None,
        after={"user_id": user_id},
    )
    return team


def update_team(
    session: Session,
    *,
    actor: User,
    team_id: int,
    approved: bool | None,
    organiser_affiliated: bool | None,
    note: str | None = None,
) -> Team:
    """Approve or decline (with ``note``) a team, or mark it organiser-affiliated (audited)."""
    team = repository.get_team(session, team_id)
    if team is None:
        raise NotFoundError("team", team_id)

    def state() -> dict[str, object]:
        return {
            "approved": team.approved,
            "organiser_affiliated": team.organiser_affiliated,
            "review_note": team.review_note,
        }

    before = state()
    if approved is not None:
        team.approved = approved
        # A reason is kept only while the team is declined.
        team.review_note = None if approved else (note or "").strip() or None
    if organiser_affiliated is not None:
        team.organiser_affiliated = organiser_affiliated
    session.flush()
    after = state()
    if after != before:
        audit.record(
            session,
            actor_id=actor.id,
            action="team.update",
            target_type="team",
            target_id=team.id,
            before=before,
            after=after,
        )
    return team
