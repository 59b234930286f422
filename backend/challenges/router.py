"""Challenges: public description; organisers apply YAML and upload inputs and labels."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, status
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from backend.challenges import repository, service
from backend.challenges.archives import CaseFile
from backend.challenges.models import Challenge
from backend.challenges.schemas import (
    CaseOut,
    ChallengeOut,
    ChallengeSummary,
    InputsStoredOut,
    LabelSetOut,
    LabelSetStoredOut,
    PhaseOut,
    TaskOut,
)
from backend.challenges.spec import parse_challenge_yaml
from backend.config import Settings
from backend.deps import OrganiserUser, SessionDep, SettingsDep, StorageDep, session_released
from backend.errors import DomainError, NotFoundError
from backend.storage import StagedUpload, remove_path
from backend.uploads import binary_body, receive_body

router = APIRouter(tags=["challenges"])

MAX_YAML_BYTES = 5 * 1024 * 1024


def _describe(session: Session, challenge: Challenge) -> ChallengeOut:
    tasks = [
        TaskOut(
            id=t.id,
            slug=t.slug,
            title=t.title,
            input_phase=t.input_phase,
            paradigms=t.paradigms,
            metric_sets=t.metric_sets,
            phases=[PhaseOut.model_validate(p) for p in repository.phases_of(session, t.id)],
        )
        for t in repository.tasks_of(session, challenge.id)
    ]
    return ChallengeOut(
        id=challenge.id,
        slug=challenge.slug,
        title=challenge.title,
        description=challenge.description,
        requires_team_approval=challenge.requires_team_approval,
        tasks=tasks,
    )


@router.get("/challenges", response_model=list[ChallengeSummary])
def list_challenges(session: SessionDep) -> list[ChallengeSummary]:
    """Every challenge (public)."""
    return [ChallengeSummary.model_validate(c) for c in repository.list_challenges(session)]


@router.get("/challenges/{slug}", response_model=ChallengeOut)
def get_challenge(slug: str, session: SessionDep) -> ChallengeOut:
    """A challenge with its tasks and phases (public; no hidden case lists)."""
    challenge = repository.get_challenge_by_slug(session, slug)
    if challenge is None:
        raise NotFoundError("challenge", slug)
    return _describe(session, challenge)


@router.put(
    "/challenges",
    response_model=ChallengeOut,
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The challenge YAML file (see docs/api.md).",
            "content": {"application/yaml": {"schema": {"type": "string"}}},
        }
    },
)
async def apply_challenge(
    request: Request, organiser: OrganiserUser, session: SessionDep
) -> ChallengeOut:
    """Create or update a whole challenge from its YAML file (idempotent, audited).

    The same as `podium challenge apply FILE`, except that files named in the
    YAML are not read: upload inputs and labels with the archive endpoints.
    """
    body = await request.body()
    if len(body) > MAX_YAML_BYTES:
        raise DomainError("the challenge file is larger than 5 MiB", 413)
    spec = parse_challenge_yaml(body)

    def apply() -> ChallengeOut:
        challenge = service.apply_spec(session, spec=spec, actor=organiser)
        return _describe(session, challenge)

    return await run_in_threadpool(apply)


@router.get("/phases/{phase_id}/cases", response_model=list[CaseOut])
def list_cases(phase_id: int, _: OrganiserUser, session: SessionDep) -> list[CaseOut]:
    """A phase's hidden and sample cases with their stored inputs (organisers)."""
    if repository.get_phase(session, phase_id) is None:
        raise NotFoundError("phase", phase_id)
    return [CaseOut.model_validate(c) for c in repository.list_cases(session, phase_id=phase_id)]


async def _unpacked(
    request: Request, session: Session, settings: Settings
) -> tuple[StagedUpload, Path, dict[str, CaseFile]]:
    # End the authentication read before a long upload: a transaction must not
    # stay open (and, on SQLite, hold the write lock) while bytes trickle in.
    async with session_released(request, session):
        staged = await receive_body(request, settings, suffix=".archive")
    try:
        folder, files = await run_in_threadpool(
            lambda: service.unpack_upload(
                staged.path,
                staging_dir=settings.staging_dir,
                max_bytes=settings.max_upload_bytes,
            )
        )
    finally:
        staged.path.unlink(missing_ok=True)
    return staged, folder, files


@router.post(
    "/phases/{phase_id}/inputs",
    response_model=InputsStoredOut,
    openapi_extra=binary_body("A .tar.gz or .zip with one image file per case, named by case key."),
)
async def upload_inputs(
    *,
    phase_id: int,
    request: Request,
    organiser: OrganiserUser,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> InputsStoredOut:
    """Upload a phase's test inputs (hidden and sample cases), streamed; audited."""
    staged, folder, files = await _unpacked(request, session, settings)
    try:
        changed = await run_in_threadpool(
            lambda: service.store_phase_inputs(
                session,
                phase_id=phase_id,
                files=files,
                storage=storage,
                actor=organiser,
            )
        )
    finally:
        remove_path(folder)
    return InputsStoredOut(
        archive_sha256=staged.sha256,
        cases_updated=[c.case_key for c in changed],
        cases_total=len(files),
    )


@router.get("/tasks/{task_id}/label-sets", response_model=list[LabelSetOut])
def list_label_sets(task_id: int, _: OrganiserUser, session: SessionDep) -> list[LabelSetOut]:
    """Every label-set version of a task (organisers)."""
    if repository.get_task(session, task_id) is None:
        raise NotFoundError("task", task_id)
    return [
        LabelSetOut.model_validate(ls) for ls in repository.label_sets_of(session, task_id=task_id)
    ]


@router.post(
    "/tasks/{task_id}/label-sets/{paradigm}",
    response_model=LabelSetStoredOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=binary_body("A .tar.gz or .zip with one label file per case, named by case key."),
)
async def upload_labels(
    *,
    task_id: int,
    paradigm: str,
    request: Request,
    organiser: OrganiserUser,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> LabelSetStoredOut:
    """Store a new label-set version and make it the active one (never overwrites; audited)."""
    _, folder, files = await _unpacked(request, session, settings)
    try:
        label_set, created = await run_in_threadpool(
            lambda: service.store_label_set(
                session,
                task_id=task_id,
                paradigm=paradigm,
                files=files,
                storage=storage,
                actor=organiser,
                rescore_queue=settings.evaluation_queue,
            )
        )
    finally:
        remove_path(folder)
    return LabelSetStoredOut(**LabelSetOut.model_validate(label_set).model_dump(), created=created)
