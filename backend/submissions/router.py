"""Container submissions: streamed upload under quota, listing, cancelling."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, status
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.auth.models import User
from backend.challenges.models import Phase
from backend.db import utcnow
from backend.deps import CurrentUser, SessionDep, SettingsDep, session_released
from backend.errors import DomainError
from backend.submissions import repository, service
from backend.submissions.image_archive import inspect_image_archive
from backend.submissions.image_checks import DEFAULT_ROOT_POLICY
from backend.submissions.images import image_to_run
from backend.submissions.models import Submission
from backend.submissions.pushed import Namespace, pin_image
from backend.submissions.schemas import (
    LedgerEntryOut,
    PushedImageIn,
    QuotaOut,
    SubmissionOut,
    TeamSubmissionsOut,
)
from backend.uploads import binary_body, receive_body

#: A JSON submission body is one short reference.
_MAX_JSON_BODY = 64 * 1024

router = APIRouter(tags=["submissions"])


def _submission_body() -> dict[str, object]:
    """Either a tarball (raw body) or a pushed image's reference (JSON)."""
    extra = binary_body(
        "Either the `docker save IMAGE:TAG` tarball (.tar or .tar.gz) as the raw request body "
        "(e.g. `curl -T image.tar.gz -H 'Authorization: Bearer …' URL`), or, as JSON, a "
        'pushed image: `{"image": "REGISTRY/CHALLENGE/TEAM/NAME:TAG"}` (or `@sha256:…`).'
    )
    body = extra["requestBody"]
    assert isinstance(body, dict)
    body["content"]["application/json"] = {"schema": PushedImageIn.model_json_schema()}
    return extra


async def _pushed_image_body(request: Request) -> PushedImageIn:
    """The JSON body of a pushed-image submission (small; refused when it is not)."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > _MAX_JSON_BODY:
            raise DomainError("a pushed-image submission is a short JSON object", 413)
    try:
        return PushedImageIn.model_validate(json.loads(data))
    except (ValueError, ValidationError) as exc:
        raise DomainError(
            'the JSON body must be {"image": "REGISTRY/CHALLENGE/TEAM/NAME:TAG"} '
            f"(or @sha256:DIGEST): {exc}",
            422,
        ) from exc


def _out(
    session: Session, *, user: User, submission: Submission, phase: Phase | None = None
) -> SubmissionOut:
    """The response body, without the log where the user may not read it."""
    phase = phase or service.submission_phase(session, submission)
    out = SubmissionOut.model_validate(submission)
    out.image_source = image_to_run(submission).source
    if not service.logs_visible(user=user, phase=phase, submission=submission):
        out.log_tail = None
    return out


@router.post(
    "/phases/{phase_id}/submissions",
    status_code=status.HTTP_201_CREATED,
    response_model=SubmissionOut,
    responses={
        403: {
            "description": "Not in an approved team, outside the phase window, or a pushed "
            "image outside the team's namespace."
        },
        413: {"description": "Larger than the upload limit (default 30 GiB)."},
        422: {
            "description": "Not an acceptable image, or an unknown tag; the message says how "
            "to fix it."
        },
        429: {"description": "The team's quota for this phase is used up."},
        503: {"description": "The registry is not answering; nothing was spent."},
    },
    openapi_extra=_submission_body(),
)
async def submit(
    *,
    phase_id: int,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> SubmissionOut:
    """Submit a container image for evaluation: a pushed image, or an uploaded tarball.

    Checked first: team membership and approval, the phase window, the quota.
    A pushed image (JSON body) is resolved to its manifest digest, checked
    through the registry's API and pinned where only Podium writes. A tarball
    (raw body) is streamed to disk with its sha256, then validated. Both are
    one linux/amd64 image with an entrypoint or command and a non-root user.
    Acceptance takes a quota slot atomically and queues the evaluation after
    the commit.
    """
    started_at = utcnow()
    context = await run_in_threadpool(
        service.check_can_submit, session, user=user, phase_id=phase_id, now=started_at
    )
    if request.headers.get("content-type", "").split(";")[0].strip() == "application/json":
        body = await _pushed_image_body(request)
        namespace = Namespace(challenge_slug=context.challenge.slug, team_slug=context.team.slug)
        # The registry calls hold no transaction or session slot.
        async with session_released(request, session):
            pinned = await run_in_threadpool(
                lambda: pin_image(
                    settings=settings,
                    namespace=namespace,
                    image=body.image,
                    root_images=DEFAULT_ROOT_POLICY,
                )
            )
        submission = await run_in_threadpool(
            lambda: service.accept_pushed(
                session,
                user=user,
                phase_id=phase_id,
                image=pinned,
                namespace=namespace,
                queue=settings.evaluation_queue,
                started_at=started_at,
            )
        )
        return await run_in_threadpool(lambda: _out(session, user=user, submission=submission))
    # No transaction (nor session slot) may stay held while gigabytes arrive.
    async with session_released(request, session):
        staged = await receive_body(request, settings, suffix=".image")
    try:
        image = await run_in_threadpool(
            lambda: inspect_image_archive(
                staged.path,
                max_unpacked_bytes=settings.max_upload_bytes,
                root_images=DEFAULT_ROOT_POLICY,
            )
        )
        submission = await run_in_threadpool(
            lambda: service.accept(
                session,
                user=user,
                phase_id=phase_id,
                staged=staged,
                image=image,
                data_root=settings.data_root,
                queue=settings.evaluation_queue,
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
