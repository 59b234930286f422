"""A team's submission history in a phase: submissions, which one counts, quota, ledger.

The one answer behind ``GET /phases/{id}/submissions`` and its other name
``GET /phases/{id}/history`` (the team page's).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.auth.roles import is_organiser
from backend.enums import SubmissionStatus
from backend.errors import ForbiddenError, NotFoundError
from backend.leaderboard import repository as boards
from backend.leaderboard.context import PhaseContext, load_phase, team_ref
from backend.leaderboard.selection import counted_submissions
from backend.submissions import repository as submissions
from backend.submissions.lifecycle import team_sees_log
from backend.submissions.schemas import History, HistorySubmission, LedgerEntryOut, QuotaOut
from backend.submissions.service import submission_out
from backend.teams import repository as teams
from backend.teams.models import Team


def _team(ctx: PhaseContext, session: Session, *, user: User, team_id: int | None) -> Team:
    """The team whose history ``user`` asks for (their own when ``team_id`` is ``None``)."""
    challenge = ctx.challenge
    if team_id is None:
        team = teams.team_of(session, user_id=user.id, challenge_id=challenge.id)
        if team is None:
            raise ForbiddenError(
                f"you are not in a team of {challenge.slug}"
                + ("; pass team_id to see a team's submissions" if is_organiser(user) else "")
            )
        return team
    found = teams.get_team(session, team_id)
    if found is None or found.challenge_id != challenge.id:
        raise NotFoundError("team", team_id)
    mine = teams.membership(session, user_id=user.id, challenge_id=challenge.id)
    if not is_organiser(user) and (mine is None or mine.team_id != found.id):
        raise ForbiddenError("you may only see your own team's submissions")
    return found


def team_history(session: Session, *, phase_id: int, user: User, team_id: int | None) -> History:
    """A team's submissions (newest first), the one that counts, its quota and ledger.

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
        404 for an unknown phase or team; 403 without a team of one's own, or
        for another team's history without the organiser role.
    """
    ctx = load_phase(session, phase_id)
    team = _team(ctx, session, user=user, team_id=team_id)
    phase = ctx.phase
    counted = counted_submissions(
        (
            c
            for c in boards.succeeded_submissions(session, phase_id=phase_id)
            if c.team_id == team.id
        ),
        selection=phase.ranking_selection,
    )
    counted_id = counted[team.id].submission_id if team.id in counted else None
    used = submissions.slots_in_use(session, team_id=team.id, phase_id=phase_id)
    return History(
        phase=ctx.ref(),
        team=team_ref(team),
        quota=QuotaOut(
            limit=phase.submission_limit,
            used=used,
            remaining=max(phase.submission_limit - used, 0),
        ),
        ledger=[
            LedgerEntryOut.model_validate(e)
            for e in submissions.quota_ledger(session, team_id=team.id, phase_id=phase_id)
        ],
        submissions=[
            HistorySubmission(
                **submission_out(user=user, phase=phase, submission=s).model_dump(),
                counted=s.id == counted_id,
            )
            for s in submissions.list_team_submissions(session, team_id=team.id, phase_id=phase_id)
        ],
        logs_shown=is_organiser(user)
        or all(team_sees_log(phase.kind, status) for status in SubmissionStatus),
    )
