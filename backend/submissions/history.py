"""A team's submission history in a phase: submissions, which one counts, quota, ledger."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.auth.roles import is_organiser
from backend.enums import PhaseKind
from backend.errors import ForbiddenError, NotFoundError
from backend.leaderboard import repository
from backend.leaderboard.context import load_phase, team_ref
from backend.leaderboard.selection import counted_submissions
from backend.submissions import repository as submissions
from backend.submissions.schemas import (
    History,
    HistoryLedgerEntryOut,
    HistoryQuotaOut,
    HistorySubmission,
)
from backend.teams import repository as teams


def team_history(session: Session, *, phase_id: int, user: User, team_id: int | None) -> History:
    """A team's submissions, quota and ledger in a phase.

    Parameters
    ----------
    session
        The request's session.
    phase_id
        The phase.
    user
        The signed-in user: a member of the team, or an organiser.
    team_id
        The team; ``None`` for the user's own team in the phase's challenge.

    Raises
    ------
    DomainError
        404 for an unknown phase or team (or no team of the user's), 403 for
        another team's history without the organiser role.
    """
    ctx = load_phase(session, phase_id)
    organiser = is_organiser(user)
    if team_id is None:
        team = teams.team_of(session, user_id=user.id, challenge_id=ctx.challenge.id)
        if team is None:
            raise NotFoundError(f"your team in challenge {ctx.challenge.slug!r}", "(none)")
    else:
        found = teams.get_team(session, team_id)
        if found is None or found.challenge_id != ctx.challenge.id:
            raise NotFoundError("team", team_id)
        team = found
        mine = teams.membership(session, user_id=user.id, challenge_id=ctx.challenge.id)
        if not organiser and (mine is None or mine.team_id != team.id):
            raise ForbiddenError("you may only see your own team's submissions")
    # Container logs of hidden test cases could leak test data; final phases show none.
    logs_shown = ctx.phase.kind == PhaseKind.VALIDATION or organiser
    counted = counted_submissions(
        (
            c
            for c in repository.succeeded_submissions(session, phase_id=phase_id)
            if c.team_id == team.id
        ),
        selection=ctx.phase.ranking_selection,
    )
    counted_id = counted[team.id].submission_id if team.id in counted else None
    used = submissions.slots_in_use(session, team_id=team.id, phase_id=phase_id)
    return History(
        phase=ctx.ref(),
        team=team_ref(team),
        quota=HistoryQuotaOut(
            limit=ctx.phase.submission_limit,
            used=used,
            remaining=max(ctx.phase.submission_limit - used, 0),
        ),
        ledger=[
            HistoryLedgerEntryOut.model_validate(e)
            for e in submissions.quota_ledger(session, team_id=team.id, phase_id=phase_id)
        ],
        submissions=[
            HistorySubmission(
                id=s.id,
                status=s.status,
                failure_class=s.failure_class,
                message=s.message,
                runtime_s=s.runtime_s,
                log_tail=s.log_tail if logs_shown else None,
                created_at=s.created_at,
                finished_at=s.finished_at,
                size_bytes=s.size_bytes,
                selected=s.selected,
                counted=s.id == counted_id,
            )
            for s in submissions.list_team_submissions(session, team_id=team.id, phase_id=phase_id)
        ],
        logs_shown=logs_shown,
    )
