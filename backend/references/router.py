"""Reference entries: organisers add baselines, off-the-shelf models and human readers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status
from starlette.concurrency import run_in_threadpool

from backend.challenges import service as challenges
from backend.deps import OrganiserUser, SessionDep, SettingsDep, StorageDep, session_released
from backend.leaderboard.rules import ReferenceKind
from backend.leaderboard.schemas import ActionOut
from backend.references import service
from backend.references.schemas import ReferenceIn, ReferenceOut
from backend.storage import remove_path
from backend.submissions.image_archive import inspect_image_archive
from backend.uploads import binary_body, receive_body

router = APIRouter(tags=["reference entries"])


def _spec(
    name: Annotated[
        str,
        Query(min_length=1, max_length=200, description="Shown on the board, unique in the phase."),
    ],
    kind: Annotated[ReferenceKind, Query(description="baseline, human or off-the-shelf.")],
    link: Annotated[
        str,
        Query(
            max_length=1000,
            pattern=r"^(https?://\S+)?$",
            description="A web page about it (http or https).",
        ),
    ] = "",
    description: Annotated[str, Query(max_length=2000, description="One line for the board.")] = "",
) -> ReferenceIn:
    return ReferenceIn(name=name, kind=kind, link=link, description=description)


SpecDep = Annotated[ReferenceIn, Depends(_spec)]


def _out(session: SessionDep, phase_id: int, reference_id: int) -> ReferenceOut:
    return next(
        r for r in service.list_references(session, phase_id=phase_id) if r.id == reference_id
    )


@router.post(
    "/phases/{phase_id}/references/container",
    response_model=ReferenceOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=binary_body("The model's `docker save` tarball (.tar or .tar.gz)."),
)
async def add_container_reference(
    *,
    phase_id: int,
    spec: SpecDep,
    request: Request,
    organiser: OrganiserUser,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> ReferenceOut:
    """Add a reference entry from a container, evaluated like a team's (organisers; audited)."""
    async with session_released(request, session):
        staged = await receive_body(request, settings, suffix=".image")
    try:
        image = await run_in_threadpool(
            lambda: inspect_image_archive(staged.path, max_unpacked_bytes=settings.max_upload_bytes)
        )
        entry = await run_in_threadpool(
            lambda: service.add_container(
                session,
                phase_id=phase_id,
                spec=spec,
                staged=staged,
                image=image,
                storage=storage,
                queue=settings.evaluation_queue,
                actor=organiser,
            )
        )
    except BaseException:
        staged.path.unlink(missing_ok=True)
        raise
    return await run_in_threadpool(lambda: _out(session, phase_id, entry.id))


@router.post(
    "/phases/{phase_id}/references/predictions",
    response_model=ReferenceOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=binary_body(
        "A .tar.gz or .zip with one prediction per hidden test case, named by case key "
        "(a second reader's labels for a human entry)."
    ),
)
async def add_predictions_reference(
    *,
    phase_id: int,
    spec: SpecDep,
    request: Request,
    organiser: OrganiserUser,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> ReferenceOut:
    """Add a reference entry from uploaded predictions, scored by the worker (organisers)."""
    async with session_released(request, session):
        staged = await receive_body(request, settings, suffix=".archive")
    try:
        folder, files = await run_in_threadpool(
            lambda: challenges.unpack_upload(
                staged.path, staging_dir=settings.staging_dir, max_bytes=settings.max_upload_bytes
            )
        )
    finally:
        staged.path.unlink(missing_ok=True)
    try:
        entry = await run_in_threadpool(
            lambda: service.add_predictions(
                session,
                phase_id=phase_id,
                spec=spec,
                files=files,
                archive_sha256=staged.sha256,
                storage=storage,
                queue=settings.evaluation_queue,
                actor=organiser,
            )
        )
    finally:
        remove_path(folder)
    return await run_in_threadpool(lambda: _out(session, phase_id, entry.id))


@router.get("/phases/{phase_id}/references", response_model=list[ReferenceOut])
def list_references(phase_id: int, _: OrganiserUser, session: SessionDep) -> list[ReferenceOut]:
    """The phase's reference entries with their scoring state (organisers)."""
    return service.list_references(session, phase_id=phase_id)


@router.delete("/references/{reference_id}", response_model=ActionOut)
def remove_reference(reference_id: int, organiser: OrganiserUser, session: SessionDep) -> ActionOut:
    """Remove a reference entry, its submission and scores from the board (audited)."""
    name = service.remove(session, reference_id=reference_id, actor=organiser)
    return ActionOut(ok=True, message=f"reference entry {name} removed")
