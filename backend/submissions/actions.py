"""Actions on one submission: choose the counted one, re-run it, read its case scores.

Flushes only; jobs are sent after the request's commit.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.audit import repository as audit
from backend.auth.models import User
from backend.enums import RankingSelection, SubmissionStatus
from backend.errors import ConflictError, ForbiddenError, NotFoundError
from backend.jobs import EVALUATE_SUBMISSION, enqueue
from backend.leaderboard import cache
from backend.leaderboard import repository as boards
from backend.leaderboard.context import load_phase, team_ref
from backend.leaderboard.schemas import ActionOut
from backend.submissions import repository as submissions
from backend.submissions.lifecycle import RESCORABLE
from backend.submissions.models import Submission
from backend.submissions.schemas import CaseScoreOut, CaseScoresOut
from backend.teams import repository as teams


def _submission(session: Session, submission_id: int) -> Submission:
    sub = submissions.get_submission(session, submission_id)
    if sub is None:
        raise NotFoundError("submission", submission_id)
    return sub


def case_scores(session: Session, *, submission_id: int) -> CaseScoresOut:
    """A submission's per-case scores from its latest evaluation (organisers)."""
    sub = _submission(session, submission_id)
    team = None if sub.team_id is None else teams.get_team(session, sub.team_id)
    if team is None and sub.team_id is not None:
        raise NotFoundError("team", sub.team_id)
    evaluation = submissions.latest_evaluation(session, sub.id)
    rows = (
        []
        if evaluation is None
        else boards.case_scores_with_keys(session, evaluation_id=evaluation.id)
    )
    return CaseScoresOut(
        submission_id=sub.id,
        team=None if team is None else team_ref(team),
        evaluation_id=None if evaluation is None else evaluation.id,
        scorer_version=None if evaluation is None else evaluation.scorer_version,
        mode=None if evaluation is None else evaluation.mode.value,
        scores=[
            CaseScoreOut(
                case=key,
                centre=centre,
                paradigm=s.paradigm,
                status=s.status,
                dice=s.dice,
                result=s.result,
            )
            for s, key, centre in rows
        ],
    )


def rescore(session: Session, *, submission_id: int, actor: User, queue: str) -> ActionOut:
    """Queue a finished submission for another run and scoring (audited).

    Its previous evaluation keeps it on the board, marked as re-running, until
    the new run succeeds; a failed re-run takes it off (the team's previous
    succeeded submission then counts, under ``latest``).

    Raises
    ------
    DomainError
        409 when the submission is still being processed or was cancelled.
    """
    sub = submissions.get_submission_for_update(session, submission_id)
    if sub is None:
        raise NotFoundError("submission", submission_id)
    if sub.status not in RESCORABLE:
        raise ConflictError(
            f"submission {sub.id} is {sub.status.value}: only succeeded, failed or errored "
            "submissions can be re-scored"
        )
    before = sub.status.value
    submissions.set_status(
        session,
        sub,
        status=SubmissionStatus.QUEUED,
        message="queued again for re-scoring by an organiser",
    )
    audit.record(
        session,
        actor_id=actor.id,
        action="submission.rescore",
        target_type="submission",
        target_id=sub.id,
        before={"status": before},
        after={"status": SubmissionStatus.QUEUED.value},
    )
    sub.queue = queue
    enqueue(session, task_name=EVALUATE_SUBMISSION, args=[sub.id], queue=queue)
    cache.leaderboard_changed(session, phase_id=sub.phase_id)
    return ActionOut(ok=True, message=f"submission {sub.id} is queued for re-scoring")


def select(session: Session, *, submission_id: int, user: User) -> ActionOut:
    """Mark a succeeded submission as the one the team wants ranked.

    Raises
    ------
    DomainError
        403 for another team's submission; 409 when the phase does not rank
        selected submissions or the submission has not succeeded.
    """
    sub = _submission(session, submission_id)
    ctx = load_phase(session, sub.phase_id)
    mine = teams.membership(session, user_id=user.id, challenge_id=ctx.challenge.id)
    if mine is None or mine.team_id != sub.team_id:
        raise ForbiddenError("you may only select your own team's submissions")
    if ctx.phase.ranking_selection != RankingSelection.SELECTED:
        raise ConflictError(
            f"this phase ranks each team's {ctx.phase.ranking_selection.value} submission; "
            "there is nothing to select"
        )
    if sub.status != SubmissionStatus.SUCCEEDED:
        raise ConflictError(f"submission {sub.id} is {sub.status.value}: select a succeeded one")
    boards.clear_selection(session, team_id=sub.team_id, phase_id=sub.phase_id)
    sub.selected = True
    session.flush()
    cache.leaderboard_changed(session, phase_id=sub.phase_id)
    return ActionOut(ok=True, message=f"submission {sub.id} now counts for your team")
