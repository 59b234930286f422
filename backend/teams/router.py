"""Teams: create, join with an invitation code, organiser approval."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.auth.roles import is_organiser
from backend.challenges import repository as challenges
from backend.deps import CurrentUser, OrganiserUser, SessionDep, SettingsDep
from backend.enums import PhaseKind
from backend.errors import ForbiddenError, NotFoundError
from backend.submissions import actions
from backend.submissions import service as submissions
from backend.submissions.schemas import CaseScoresOut
from backend.teams import repository, service
from backend.teams.models import Team
from backend.teams.schemas import JoinIn, MemberIn, MemberOut, TeamIn, TeamOut, TeamUpdateIn

router = APIRouter(tags=["teams"])


def team_out(session: Session, team: Team, *, viewer: User) -> TeamOut:
    """A team as ``viewer`` may see it (members and organisers see the invitation code)."""
    members = repository.members(session, team.id)
    member = any(u.id == viewer.id for u in members)
    submitted = repository.has_submitted(session, team.id)
    return TeamOut(
        id=team.id,
        challenge_id=team.challenge_id,
        name=team.name,
        slug=team.slug,
        captain_id=team.captain_id,
        approved=team.approved,
        organiser_affiliated=team.organiser_affiliated,
        created_at=team.created_at,
        members=[MemberOut.model_validate(u) for u in members],
        invite_code=team.invite_code if member or is_organiser(viewer) else None,
        waiting=service.waiting_reason(team),
        review_note=team.review_note,
        has_submitted=submitted,
        can_leave=member and not submitted,
    )


@router.post(
    "/challenges/{slug}/teams", status_code=status.HTTP_201_CREATED, response_model=TeamOut
)
def create_team(
    slug: str, body: TeamIn, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> TeamOut:
    """Create a team and become its captain (409 if you already have a team here).

    Where the challenge approves teams, the organisers are e-mailed and the team's
    `waiting` says why it cannot submit yet.
    """
    team = service.create_team(
        session,
        user=user,
        challenge_slug=slug,
        name=body.name,
        notification_queue=settings.notification_queue,
    )
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
    """Approve or decline a team (`note`: the reason, shown to it), or mark it
    organiser-affiliated (organisers; audited)."""
    team = service.update_team(
        session,
        actor=organiser,
        team_id=team_id,
        approved=body.approved,
        organiser_affiliated=body.organiser_affiliated,
        note=body.note,
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
    """Leave a team or remove a member (before the first submission; organisers always).

    A captain who leaves hands the team to the longest-standing member; the last
    member leaving dissolves it."""
    service.remove_member(session, actor=user, team_id=team_id, user_id=user_id)


@router.get("/submissions/{submission_id}/my-scores", response_model=CaseScoresOut)
def own_case_scores(submission_id: int, user: CurrentUser, session: SessionDep) -> CaseScoresOut:
    """Your team's per-case scores of one submission, with each case's warnings.

    Validation phases only: per-case results on a final phase's hidden test cases
    would tell a team about those cases (organisers see them at
    `/submissions/{id}/case-scores`)."""
    submission = submissions.get_visible(session, user=user, submission_id=submission_id)
    found = challenges.phase_context(session, submission.phase_id)
    if found is None:
        raise NotFoundError("submission", submission_id)
    if found[0].kind != PhaseKind.VALIDATION and not is_organiser(user):
        raise ForbiddenError(
            "per-case scores of a final phase are not shown to teams: its cases are the hidden "
            "test set; the leaderboard shows your ranking once it is published"
        )
    return actions.case_scores(session, submission_id=submission.id)
