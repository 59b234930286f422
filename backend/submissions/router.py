"""Container submissions: streamed upload under quota, listing, cancelling."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.auth.models import User
from backend.challenges.models import Phase
from backend.db import utcnow
from backend.deps import CurrentUser, SessionDep, SettingsDep, StorageDep, session_released
from backend.submissions import repository, service
from backend.submissions.image_archive import inspect_image_archive
from backend.submissions.models import Submission
from backend.submissions.schemas import (
    LedgerEntryOut,
    QuotaOut,
    SubmissionOut,
    TeamSubmissionsOut,
)
from backend.uploads import binary_body, receive_body

router = APIRouter(tags=["submissions"])


def _out(
    session: Session, *, user: User, submission: Submission, phase: Phase | None = None
) -> SubmissionOut:
    """The response body, without the log where the user may not read it."""
    phase = phase or service.submission_phase(session, submission)
    out = SubmissionOut.model_validate(submission)
    if not service.logs_visible(user=user, phase=phase, submission=submission):
        out.log_tail = None
    return out


@router.post(
    "/phases/{phase_id}/submissions",
    status_code=status.HTTP_201_CREATED,
    response_model=SubmissionOut,
    responses={
        403: {"description": "Not in an approved team, or outside the phase window."},
        413: {"description": "Larger than the upload limit (default 30 GiB)."},
        422: {"description": "Not an acceptable image; the message says how to fix it."},
        429: {"description": "The team's quota for this phase is used up."},
    },
    openapi_extra=binary_body(
        "The `docker save IMAGE:TAG` tarball (.tar or .tar.gz) as the raw request body, "
        "e.g. `curl -T image.tar.gz -H 'Authorization: Bearer …' URL`."
    ),
)
async def submit(
    *,
    phase_id: int,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> SubmissionOut:
    """Upload a container image for evaluation.

    Checked before the upload starts: team membership and approval, the phase
    window, the quota. The body is streamed to disk with its sha256, then
    validated as one linux/amd64 image with an entrypoint or command and a
    non-root user. Acceptance takes a quota slot atomically and queues the
    evaluation after the commit.
    """
    started_at = utcnow()
    await run_in_threadpool(
        service.check_can_submit, session, user=user, phase_id=phase_id, now=started_at
    )
    # No transaction (nor session slot) may stay held while gigabytes arrive.
    async with session_released(request, session):
        staged = await receive_body(request, settings, suffix=".image")
    try:
        image = await run_in_threadpool(
            lambda: inspect_image_archive(staged.path, max_unpacked_bytes=settings.max_upload_bytes)
        )
        submission = await run_in_threadpool(
            lambda: service.accept(
                session,
                user=user,
                phase_id=phase_id,
                staged=staged,
                image=image,
                storage=storage,
                default_queue=settings.evaluation_queue,
                started_at=started_at,
            )
        )
    except BaseException:
        staged.path.unlink(missing_ok=True)
        raise
    return await run_in_threadpool(lambda: _out(session, user=user, submission=submission))


@router.get("/phases/{phase_id}/submissions", response_model=TeamSubmissionsOut)
def list_own(phase_id: int, user: CurrentUser, session: SessionDep) -> TeamSubmissionsOut:
    """Your team's submissions to a phase, its remaining quota and its quota ledger."""
    phase, team = service.team_for_phase(session, user=user, phase_id=phase_id)
    used = repository.slots_in_use(session, team_id=team.id, phase_id=phase.id)
    ledger = repository.quota_ledger(session, team_id=team.id, phase_id=phase.id)
    return TeamSubmissionsOut(
        team_id=team.id,
        phase_id=phase.id,
        quota=QuotaOut(
            limit=phase.submission_limit,
            used=used,
            remaining=max(phase.submission_limit - used, 0),
            ledger=[LedgerEntryOut.model_validate(e) for e in ledger],
        ),
        submissions=[
            _out(session, user=user, submission=s, phase=phase)
            for s in repository.list_team_submissions(session, team_id=team.id, phase_id=phase.id)
        ],
    )


@router.get("/submissions/{submission_id}", response_model=SubmissionOut)
def get_submission(submission_id: int, user: CurrentUser, session: SessionDep) -> SubmissionOut:
    """One submission of your team (organisers see all)."""
    submission = service.get_visible(session, user=user, submission_id=submission_id)
    return _out(session, user=user, submission=submission)


@router.delete("/submissions/{submission_id}", response_model=SubmissionOut)
def cancel_submission(submission_id: int, user: CurrentUser, session: SessionDep) -> SubmissionOut:
    """Cancel a queued submission; its quota slot is refunded (409 once it has started)."""
    submission = service.cancel(session, user=user, submission_id=submission_id)
    return _out(session, user=user, submission=submission)
