"""Container submissions: streamed upload under quota, listing, history, cancelling, and the
actions on one submission (select, re-score, case scores)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.auth.models import User
from backend.challenges.contract import root_policy
from backend.challenges.models import Phase
from backend.db import utcnow
from backend.deps import (
    CurrentUser,
    OrganiserUser,
    SessionDep,
    SettingsDep,
    StorageDep,
    session_released,
)
from backend.errors import DomainError
from backend.leaderboard.schemas import ActionOut
from backend.submissions import actions, history, service
from backend.submissions.image_archive import inspect_image_archive
from backend.submissions.models import Submission
from backend.submissions.pushed import Namespace, pin_image
from backend.submissions.schemas import (
    CaseScoresOut,
    History,
    PushedImageIn,
    SubmissionOut,
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
    return service.submission_out(user=user, phase=phase, submission=submission)


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
    storage: StorageDep,
) -> SubmissionOut:
    """Submit a container image for evaluation: a pushed image, or an uploaded tarball.

    Checked first: team membership and approval, the phase window, the quota.
    A pushed image (JSON body) is resolved to its manifest digest, checked
    through the registry's API and pinned where only Podium writes. A tarball
    (raw body) is streamed to disk with its sha256, then validated. Both are
    one linux/amd64 image with an entrypoint or command and a non-root user
    (unless the phase's run contract says ``root_images: run_unprivileged``).
    Acceptance takes a quota slot atomically and queues the evaluation on the
    phase's queue after the commit.
    """
    started_at = utcnow()
    context = await run_in_threadpool(
        service.check_can_submit, session, user=user, phase_id=phase_id, now=started_at
    )
    root_images = root_policy(context.phase)
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
                    root_images=root_images,
                )
            )
        submission = await run_in_threadpool(
            lambda: service.accept_pushed(
                session,
                user=user,
                phase_id=phase_id,
                image=pinned,
                namespace=namespace,
                default_queue=settings.evaluation_queue,
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
                staged.path, max_unpacked_bytes=settings.max_upload_bytes, root_images=root_images
            )
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


TeamQuery = Annotated[int | None, Query(description="Another team (organisers only).")]


@router.get("/phases/{phase_id}/submissions", response_model=History)
@router.get("/phases/{phase_id}/history", response_model=History)
def team_history(
    phase_id: int, user: CurrentUser, session: SessionDep, team_id: TeamQuery = None
) -> History:
    """Your team's submissions to a phase, newest first, with status, failure class,
    message, runtime and the log tail where you may read it (validation phases, and a
    failed pre-flight in any phase); which one counts; the quota and its ledger.
    `/history` is the same endpoint under the team page's name."""
    return history.team_history(session, phase_id=phase_id, user=user, team_id=team_id)


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


@router.get("/submissions/{submission_id}/case-scores", response_model=CaseScoresOut)
def get_case_scores(submission_id: int, _: OrganiserUser, session: SessionDep) -> CaseScoresOut:
    """A submission's per-case scores from its latest evaluation (organisers)."""
    return actions.case_scores(session, submission_id=submission_id)


@router.post("/submissions/{submission_id}/rescore", response_model=ActionOut)
def rescore_submission(
    submission_id: int, organiser: OrganiserUser, session: SessionDep, settings: SettingsDep
) -> ActionOut:
    """Queue a finished submission for another run and scoring (organisers; audited)."""
    return actions.rescore(
        session, submission_id=submission_id, actor=organiser, queue=settings.evaluation_queue
    )


@router.post("/submissions/{submission_id}/select", response_model=ActionOut)
def select_submission(submission_id: int, user: CurrentUser, session: SessionDep) -> ActionOut:
    """Make this succeeded submission the one your team is ranked by (`selected` phases)."""
    return actions.select(session, submission_id=submission_id, user=user)
