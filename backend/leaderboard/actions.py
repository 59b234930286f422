"""The organisers' leaderboard actions: publish, re-score a phase, list its teams. Flushes only."""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.audit import repository as audit
from backend.auth.models import User
from backend.challenges import repository as challenges
from backend.db import utcnow
from backend.enums import LeaderboardVisibility, SubmissionStatus
from backend.errors import ConflictError
from backend.jobs import RESCORE_PHASE, enqueue
from backend.leaderboard import cache, repository
from backend.leaderboard.context import load_phase, team_ref
from backend.leaderboard.schemas import ActionOut, TeamsOut
from backend.leaderboard.visibility import can_publish
from backend.submissions import repository as submissions


def phase_teams(session: Session, *, phase_id: int) -> TeamsOut:
    """Every team of the phase's challenge, affiliated ones included (organisers)."""
    ctx = load_phase(session, phase_id)
    return TeamsOut(
        phase=ctx.ref(),
        teams=[
            team_ref(t) for t in repository.challenge_teams(session, challenge_id=ctx.challenge.id)
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
    # The phase's own worker class re-scores it (a GPU host class reads its predictions too).
    enqueue(session, task_name=RESCORE_PHASE, args=[phase_id], queue=ctx.phase.queue or queue)
    labels = ", ".join(f"{p} v{v}" for p, v in versions.items())
    return ActionOut(
        ok=True,
        message=f"{ctx.phase.title}: {len(ids)} submission(s) queued for re-scoring "
        f"against {labels} from their stored predictions",
    )
