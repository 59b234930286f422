"""Teams: create, join with an invitation code, organiser approval."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.challenges import repository as challenges
from backend.deps import CurrentUser, OrganiserUser, SessionDep
from backend.errors import NotFoundError
from backend.teams import repository, service
from backend.teams.models import Team
from backend.teams.schemas import JoinIn, MemberIn, MemberOut, TeamIn, TeamOut, TeamUpdateIn

router = APIRouter(tags=["teams"])


def team_out(session: Session, team: Team, *, viewer: User) -> TeamOut:
    """A team as ``viewer`` may see it."""
    show_code = viewer.id == team.captain_id or service.is_organiser(viewer)
    return TeamOut(
        id=team.id,
        challenge_id=team.challenge_id,
        name=team.name,
        slug=team.slug,
        captain_id=team.captain_id,
        approved=team.approved,
        organiser_affiliated=team.organiser_affiliated,
        created_at=team.created_at,
        members=[MemberOut.model_validate(u) for u in repository.members(session, team.id)],
        invite_code=team.invite_code if show_code else None,
    )


@router.post(
    "/challenges/{slug}/teams", status_code=status.HTTP_201_CREATED, response_model=TeamOut
)
def create_team(slug: str, body: TeamIn, user: CurrentUser, session: SessionDep) -> TeamOut:
    """Create a team and become its captain (409 if you already have a team here)."""
    team = service.create_team(session, user=user, challenge_slug=slug, name=body.name)
    return team_out(session, team, viewer=user)


@router.post("/challenges/{slug}/teams/join", response_model=TeamOut)
def join_team(slug: str, body: JoinIn, user: CurrentUser, session: SessionDep) -> TeamOut:
    """Join a team with its captain's invitation code."""
    team = service.join_team(session, user=user, challenge_slug=slug, invite_code=body.invite_code)
    return team_out(session, team, viewer=user)


@router.get("/challenges/{slug}/teams/mine", response_model=TeamOut)
def my_team(slug: str, user: CurrentUser, session: SessionDep) -> TeamOut:
    """Your team in this challenge (404 if you have none)."""
    challenge = challenges.get_challenge_by_slug(session, slug)
    if challenge is None:
        raise NotFoundError("challenge", slug)
    team = repository.team_of(session, user_id=user.id, challenge_id=challenge.id)
    if team is None:
        raise NotFoundError("your team in challenge", slug)
    return team_out(session, team, viewer=user)


@router.get("/challenges/{slug}/teams", response_model=list[TeamOut])
def list_teams(slug: str, organiser: OrganiserUser, session: SessionDep) -> list[TeamOut]:
    """Every team of a challenge (organisers)."""
    challenge = challenges.get_challenge_by_slug(session, slug)
    if challenge is None:
        raise NotFoundError("challenge", slug)
    return [
        team_out(session, t, viewer=organiser)
        for t in repository.teams_of_challenge(session, challenge.id)
    ]


@router.patch("/teams/{team_id}", response_model=TeamOut)
def update_team(
    team_id: int, body: TeamUpdateIn, organiser: OrganiserUser, session: SessionDep
) -> TeamOut:
    """Approve a team or mark it organiser-affiliated (organisers; audited)."""
    team = service.update_team(
        session,
        actor=organiser,
        team_id=team_id,
        approved=body.approved,
        organiser_affiliated=body.organiser_affiliated,
    )
    return team_out(session, team, viewer=organiser)


@router.post("/teams/{team_id}/members", response_model=TeamOut)
def add_member(
    team_id: int, body: MemberIn, organiser: OrganiserUser, session: SessionDep
) -> TeamOut:
    """Add a user to a team, also after its first submission (organisers; audited)."""
    team = service.add_member(session, actor=organiser, team_id=team_id, user_id=body.user_id)
    return team_out(session, team, viewer=organiser)


@router.delete("/teams/{team_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_member(team_id: int, user_id: int, user: CurrentUser, session: SessionDep) -> None:
    """Leave a team or remove a member (before the first submission; organisers always)."""
    service.remove_member(session, actor=user, team_id=team_id, user_id=user_id)
