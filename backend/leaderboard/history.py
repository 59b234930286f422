"""Team submission history and the organisers' leaderboard actions. Flushes only."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.audit import repository as audit
from backend.auth.models import User
from backend.challenges import repository as challenges
from backend.db import utcnow
from backend.enums import (
    LeaderboardVisibility,
    PhaseKind,
    RankingSelection,
    SubmissionStatus,
)
from backend.errors import ConflictError, ForbiddenError, NotFoundError
from backend.jobs import EVALUATE_SUBMISSION, RESCORE_PHASE, enqueue
from backend.leaderboard import cache, repository
from backend.leaderboard.context import is_organiser, load_phase
from backend.leaderboard.schemas import (
    ActionOut,
    CaseScoreOut,
    CaseScoresOut,
    History,
    HistorySubmission,
    LedgerEntryOut,
    QuotaOut,
    TeamRef,
    TeamsOut,
)
from backend.leaderboard.selection import counted_submissions
from backend.leaderboard.visibility import can_publish
from backend.submissions import repository as submissions
from backend.submissions.models import Submission
from backend.teams import repository as teams
from backend.teams.models import Team

#: States an organiser may send back to the queue for another run and scoring.
RESCORABLE = frozenset(
    {SubmissionStatus.SUCCEEDED, SubmissionStatus.FAILED, SubmissionStatus.ERROR}
)


def _team_ref(team: Team) -> TeamRef:
    return TeamRef(id=team.id, name=team.name, affiliated=team.organiser_affiliated)


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
        team=_team_ref(team),
        quota=QuotaOut(
            limit=ctx.phase.submission_limit,
            used=used,
            remaining=max(ctx.phase.submission_limit - used, 0),
        ),
        ledger=[
            LedgerEntryOut.model_validate(e)
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


def phase_teams(session: Session, *, phase_id: int) -> TeamsOut:
    """Every team of the phase's challenge, affiliated ones included (organisers)."""
    ctx = load_phase(session, phase_id)
    return TeamsOut(
        phase=ctx.ref(),
        teams=[
            _team_ref(t) for t in repository.challenge_teams(session, challenge_id=ctx.challenge.id)
        ],
    )


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
        else repository.case_scores_with_keys(session, evaluation_id=evaluation.id)
    )
    return CaseScoresOut(
        submission_id=sub.id,
        team=None if team is None else _team_ref(team),
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


def publish(session: Session, *, phase_id: int, actor: User) -> ActionOut:
    """Make a closed phase's leaderboard public (idempotent, audited).

    Raises
    ------
    DomainError
        409 while the phase is still open.
    """
    ctx = load_phase(session, phase_id)
    phase = ctx.phase
    if phase.leaderboard_visibility == LeaderboardVisibility.PUBLISHED:
        return ActionOut(ok=True, message=f"{phase.title}: the leaderboard was already published")
    refusal = can_publish(phase, now=utcnow())
    if refusal is not None:
        raise ConflictError(refusal)
    before = phase.leaderboard_visibility.value
    phase.leaderboard_visibility = LeaderboardVisibility.PUBLISHED
    audit.record(
        session,
        actor_id=actor.id,
        action="leaderboard.publish",
        target_type="phase",
        target_id=phase.id,
        before={"leaderboard_visibility": before},
        after={"leaderboard_visibility": LeaderboardVisibility.PUBLISHED.value},
    )
    cache.leaderboard_changed(session, phase_id=phase.id)
    session.flush()
    return ActionOut(ok=True, message=f"{phase.title}: the leaderboard is now public")


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


def rescore_phase(session: Session, *, phase_id: int, actor: User | None, queue: str) -> ActionOut:
    """Queue a re-scoring of the phase's succeeded submissions (audited).

    The worker scores each one's stored predictions against the task's active
    label sets into a new evaluation tagged with their versions; no container
    runs again. The job is sent by name after the caller's commit.

    Raises
    ------
    DomainError
        404 for an unknown phase; 409 when a paradigm of the task has no
        active label set or no submission of the phase has succeeded.
    """
    ctx = load_phase(session, phase_id)
    active = challenges.active_label_sets(session, ctx.task.id)
    missing = [p for p in ctx.task.paradigms if p not in active]
    if missing:
        raise ConflictError(
            f"task {ctx.task.slug} has no active label set for {', '.join(missing)}: "
            "upload one before re-scoring"
        )
    ids = [
        s.id
        for s in submissions.list_phase_submissions(
            session, phase_id=phase_id, statuses=[SubmissionStatus.SUCCEEDED]
        )
    ]
    if not ids:
        raise ConflictError(f"{ctx.phase.title}: no succeeded submission to re-score")
    versions = {p: active[p].version for p in ctx.task.paradigms}
    audit.record(
        session,
        actor_id=None if actor is None else actor.id,
        action="phase.rescore",
        target_type="phase",
        target_id=phase_id,
        after={"label_set_versions": versions, "submissions": ids},
    )
    enqueue(session, task_name=RESCORE_PHASE, args=[phase_id], queue=queue)
    labels = ", ".join(f"{p} v{v}" for p, v in versions.items())
    return ActionOut(
        ok=True,
        message=f"{ctx.phase.title}: {len(ids)} submission(s) queued for re-scoring "
        f"against {labels} from their stored predictions",
    )


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
    repository.clear_selection(session, team_id=sub.team_id, phase_id=sub.phase_id)
    sub.selected = True
    session.flush()
    cache.leaderboard_changed(session, phase_id=sub.phase_id)
    return ActionOut(ok=True, message=f"submission {sub.id} now counts for your team")
