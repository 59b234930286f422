"""Rules for container submissions: who may submit when, quota slots, cancelling.

Flushes only; the request commits, and the evaluation job is sent after that
commit (``backend.jobs``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.auth.roles import is_organiser
from backend.challenges import repository as challenges
from backend.challenges.models import Challenge, Phase, Task
from backend.challenges.spec import phase_window
from backend.enums import SubmissionStatus
from backend.errors import ConflictError, DomainError, ForbiddenError, NotFoundError
from backend.jobs import EVALUATE_SUBMISSION, enqueue
from backend.storage import StagedUpload, Storage, StorageError, remove_on_rollback
from backend.submissions import repository
from backend.submissions.image_archive import ImageInfo
from backend.submissions.images import image_to_run
from backend.submissions.lifecycle import CANCELLABLE, team_sees_log
from backend.submissions.models import Submission
from backend.submissions.pushed import Namespace, PinnedImage
from backend.submissions.schemas import SubmissionOut
from backend.teams import repository as teams
from backend.teams.models import Team
from backend.writeups.service import require_writeup


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
    storage: Storage,
    default_queue: str,
    started_at: datetime,
) -> Submission:
    """Take a quota slot, store the tarball and queue the evaluation on the phase's queue.

    ``started_at`` is when the upload began: an upload that started inside the
    window is accepted even if it finished after the close. The tarball is moved
    into ``storage`` and removed from it again if the transaction rolls back. The
    evaluation goes to the phase's host class (``Phase.queue``), or to
    ``default_queue`` (the deployment's) when the phase names none.

    Raises
    ------
    DomainError
        429 when every slot is taken (atomically, by the unique slot constraint).
    """
    context = check_can_submit(session, user=user, phase_id=phase_id, now=started_at)
    queue = context.phase.queue or default_queue
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
    _take_slot(session, context, submission)
    with staged.path.open("rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    key = (
        f"submissions/phase-{context.phase.id}/team-{context.team.id}/"
        f"{submission.id}-{staged.sha256[:16]}{'.tar.gz' if gzipped else '.tar'}"
    )
    try:
        storage.move_in(staged.path, key)
    except StorageError as exc:
        raise DomainError(
            f"the upload could not be stored, please send it again: {exc}", 503
        ) from exc
    remove_on_rollback(session, storage, key)
    submission.tarball_path = key
    session.flush()
    enqueue(session, task_name=EVALUATE_SUBMISSION, args=[submission.id], queue=queue)
    return submission


def _take_slot(session: Session, context: SubmitContext, submission: Submission) -> None:
    """Insert ``submission`` into a free quota slot, or refuse with 429."""
    if not repository.insert_with_free_slot(
        session, submission, limit=context.phase.submission_limit
    ):
        raise DomainError(_quota_message(context.phase), 429)


def accept_pushed(
    session: Session,
    *,
    user: User,
    phase_id: int,
    image: PinnedImage,
    namespace: Namespace,
    default_queue: str,
    started_at: datetime,
) -> Submission:
    """Take a quota slot for a pinned pushed image and queue its evaluation.

    The evaluation goes to the phase's host class, as for a tarball (:func:`accept`).

    Raises
    ------
    DomainError
        429 when every slot is taken; 409 when the user's team changed while
        the image was being pinned.
    """
    context = check_can_submit(session, user=user, phase_id=phase_id, now=started_at)
    if (context.challenge.slug, context.team.slug) != (
        namespace.challenge_slug,
        namespace.team_slug,
    ):
        raise ConflictError("your team changed while the image was being checked: submit again")
    queue = context.phase.queue or default_queue
    submission = Submission(
        team_id=context.team.id,
        phase_id=context.phase.id,
        submitted_by_id=user.id,
        status=SubmissionStatus.QUEUED,
        queued_at=started_at,
        tarball_sha256=None,
        tarball_path=None,
        image_digest=image.config_digest,
        manifest_digest=image.manifest_digest,
        image_reference=image.reference,
        image_tags=[image.submitted],
        size_bytes=image.size_bytes,
        queue=queue,
    )
    _take_slot(session, context, submission)
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


def logs_visible(*, user: User, phase: Phase, submission: Submission) -> bool:
    """Whether ``user`` may read the submission's container log.

    Organisers always; its team as :func:`backend.submissions.lifecycle.team_sees_log`
    says (validation phases, and a failed pre-flight in any phase).
    """
    return is_organiser(user) or team_sees_log(phase.kind, submission.status)


def submission_out(*, user: User, phase: Phase, submission: Submission) -> SubmissionOut:
    """The submission as ``user`` may see it: without the log where it is withheld."""
    out = SubmissionOut.model_validate(submission)
    out.image_source = image_to_run(submission).source
    if not logs_visible(user=user, phase=phase, submission=submission):
        out.log_tail = None
    return out


def submission_phase(session: Session, submission: Submission) -> Phase:
    """The phase a submission belongs to."""
    context = challenges.phase_context(session, submission.phase_id)
    if context is None:
        raise NotFoundError("phase", submission.phase_id)
    return context[0]
