"""Rules for container submissions: who may submit when, quota slots, cancelling.

Flushes only; the request commits, and the evaluation job is sent after that
commit (``backend.jobs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.challenges import repository as challenges
from backend.challenges.models import Challenge, Phase, Task
from backend.challenges.spec import phase_window
from backend.enums import PhaseKind, SubmissionStatus
from backend.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from backend.jobs import EVALUATE_SUBMISSION, enqueue
from backend.storage import StagedUpload, delete_on_rollback, move_into_place
from backend.submissions import repository
from backend.submissions.image_archive import ImageInfo
from backend.submissions.models import Submission
from backend.teams import repository as teams
from backend.teams.models import Team
from backend.teams.service import is_organiser
from backend.writeups.service import require_writeup

#: States a team may still cancel.
CANCELLABLE = (SubmissionStatus.RECEIVED, SubmissionStatus.QUEUED)


@dataclass(frozen=True, slots=True)
class SubmitContext:
    """The phase a team submits to, checked for window, approval and quota."""

    phase: Phase
    task: Task
    challenge: Challenge
    team: Team
    started_at: datetime


def _quota_message(phase: Phase) -> str:
    return (
        f"no submissions left: your team has used all {phase.submission_limit} of phase "
        f"{phase.title!r}; a slot comes back only when a submission is cancelled while queued "
        "or fails for a reason on our side"
    )


def check_can_submit(
    session: Session, *, user: User, phase_id: int, now: datetime
) -> SubmitContext:
    """Refuse early (before any byte is uploaded) when the submission cannot be accepted.

    The quota check here is informative only; the atomic check is the slot
    insert in :func:`accept`.
    """
    context = challenges.phase_context(session, phase_id)
    if context is None:
        raise NotFoundError("phase", phase_id)
    phase, task, challenge = context
    team = teams.team_of(session, user_id=user.id, challenge_id=challenge.id)
    if team is None:
        raise ForbiddenError(
            f"you are not in a team of {challenge.slug}: create one or join one with an "
            "invitation code first"
        )
    if not team.approved:
        raise ForbiddenError(f"team {team.name!r} is waiting for an organiser's approval")
    window = phase_window(phase.opens_at, phase.closes_at)
    if now < phase.opens_at:
        raise ForbiddenError(
            f"phase {phase.title!r} is not open yet; it accepts submissions {window}"
        )
    if now >= phase.closes_at:
        raise ForbiddenError(f"phase {phase.title!r} is closed; it accepted submissions {window}")
    used = repository.slots_in_use(session, team_id=team.id, phase_id=phase.id)
    if used >= phase.submission_limit:
        raise DomainError(_quota_message(phase), 429)
    require_writeup(session, phase=phase, team=team)
    return SubmitContext(phase=phase, task=task, challenge=challenge, team=team, started_at=now)


def accept(
    session: Session,
    *,
    user: User,
    phase_id: int,
    staged: StagedUpload,
    image: ImageInfo,
    data_root: Path,
    queue: str,
    started_at: datetime,
) -> Submission:
    """Take a quota slot, store the tarball and queue the evaluation.

    ``started_at`` is when the upload began: an upload that started inside the
    window is accepted even if it finished after the close.

    Raises
    ------
    DomainError
        429 when every slot is taken (atomically, by the unique slot constraint).
    """
    context = check_can_submit(session, user=user, phase_id=phase_id, now=started_at)
    submission = Submission(
        team_id=context.team.id,
        phase_id=context.phase.id,
        submitted_by_id=user.id,
        status=SubmissionStatus.QUEUED,
        queued_at=started_at,
        tarball_sha256=staged.sha256,
        image_digest=image.digest,
        image_tags=image.repo_tags,
        size_bytes=staged.size,
        tarball_path="",
        queue=queue,
    )
    if not repository.insert_with_free_slot(
        session, submission, limit=context.phase.submission_limit
    ):
        raise DomainError(_quota_message(context.phase), 429)
    with staged.path.open("rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    relative = (
        Path("submissions")
        / f"phase-{context.phase.id}"
        / f"team-{context.team.id}"
        / f"{submission.id}-{staged.sha256[:16]}{'.tar.gz' if gzipped else '.tar'}"
    )
    move_into_place(staged.path, data_root / relative)
    delete_on_rollback(session, data_root / relative)
    submission.tarball_path = relative.as_posix()
    session.flush()
    enqueue(session, task_name=EVALUATE_SUBMISSION, args=[submission.id], queue=queue)
    return submission


def get_visible(session: Session, *, user: User, submission_id: int) -> Submission:
    """A submission its team's members (and organisers) may see; 404 for others."""
    submission = repository.get_submission(session, submission_id)
    if submission is None:
        raise NotFoundError("submission", submission_id)
    if not teams_can_see(session, user=user, team_id=submission.team_id):
        raise NotFoundError("submission", submission_id)
    return submission


def teams_can_see(session: Session, *, user: User, team_id: int | None) -> bool:
    """Whether ``user`` is in the team or an organiser (``None``: a reference entry)."""
    if is_organiser(user):
        return True
    if team_id is None:
        return False
    team = teams.get_team(session, team_id)
    if team is None:
        return False
    mine = teams.team_of(session, user_id=user.id, challenge_id=team.challenge_id)
    return mine is not None and mine.id == team_id


def cancel(session: Session, *, user: User, submission_id: int) -> Submission:
    """Cancel a submission that has not started; its slot is refunded."""
    get_visible(session, user=user, submission_id=submission_id)
    submission = repository.get_submission_for_update(session, submission_id)
    assert submission is not None
    if submission.status not in CANCELLABLE:
        raise ConflictError(
            f"submission {submission_id} is {submission.status.value}; only a queued submission "
            "can be cancelled"
        )
    repository.set_status(
        session,
        submission,
        status=SubmissionStatus.CANCELLED,
        message=f"cancelled by {user.display_name}",
    )
    return submission


def team_for_phase(session: Session, *, user: User, phase_id: int) -> tuple[Phase, Team]:
    """The phase and the user's team in its challenge (404/403 otherwise)."""
    context = challenges.phase_context(session, phase_id)
    if context is None:
        raise NotFoundError("phase", phase_id)
    phase, _, challenge = context
    team = teams.team_of(session, user_id=user.id, challenge_id=challenge.id)
    if team is None:
        raise ForbiddenError(f"you are not in a team of {challenge.slug}")
    return phase, team


def logs_visible(*, user: User, phase: Phase, submission: Submission) -> bool:
    """Whether ``user`` may read the submission's container log.

    A final-phase container runs on the hidden test images and may print them,
    so its team sees the log of validation phases only; a failed pre-flight ran
    on the public sample cases alone, so its log is shown everywhere (that is
    how the team learns why). Organisers always see it.
    """
    return (
        is_organiser(user)
        or phase.kind == PhaseKind.VALIDATION
        or submission.status == SubmissionStatus.FAILED_PREFLIGHT
    )


def submission_phase(session: Session, submission: Submission) -> Phase:
    """The phase a submission belongs to."""
    context = challenges.phase_context(session, submission.phase_id)
    if context is None:
        raise NotFoundError("phase", submission.phase_id)
    return context[0]
