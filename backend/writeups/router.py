"""Write-ups: a team's method name, link and PDF per phase; organisers and the public read them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from backend.challenges import repository as challenges
from backend.deps import (
    CurrentUser,
    OptionalUser,
    OrganiserUser,
    SessionDep,
    SettingsDep,
    StorageDep,
    session_released,
)
from backend.errors import NotFoundError
from backend.storage import StorageError, read_chunks, receive_stream
from backend.uploads import binary_body
from backend.writeups import service
from backend.writeups.rules import writeup_rules_of
from backend.writeups.schemas import MethodIn, WriteupOut

router = APIRouter(tags=["write-ups"])


@router.get("/phases/{phase_id}/writeup", response_model=WriteupOut)
def get_own_writeup(phase_id: int, user: CurrentUser, session: SessionDep) -> WriteupOut:
    """Your team's write-up in the phase, and whether the phase requires one."""
    return service.own(session, phase_id=phase_id, user=user)


@router.put("/phases/{phase_id}/writeup/method", response_model=WriteupOut)
def set_method(
    phase_id: int, method: MethodIn, user: CurrentUser, session: SessionDep
) -> WriteupOut:
    """Name your team's method (and link to its code or paper); shown on the board."""
    return service.set_method(session, phase_id=phase_id, user=user, method=method)


@router.put(
    "/phases/{phase_id}/writeup.pdf",
    response_model=WriteupOut,
    openapi_extra=binary_body(
        "The write-up as a PDF file (raw body), within the phase's size cap."
    ),
)
async def upload_writeup(
    *,
    phase_id: int,
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    storage: StorageDep,
) -> WriteupOut:
    """Upload your team's write-up PDF (checked to be a PDF; the phase caps its size)."""

    def cap() -> int:
        phase = challenges.get_phase(session, phase_id)
        if phase is None:
            raise NotFoundError("phase", phase_id)
        return writeup_rules_of(phase.writeup).max_bytes

    max_bytes = await run_in_threadpool(cap)
    declared = request.headers.get("content-length")
    async with session_released(request, session):
        staged = await receive_stream(
            request.stream(),
            staging_dir=settings.staging_dir,
            max_bytes=min(max_bytes, settings.max_upload_bytes),
            declared_length=int(declared) if declared and declared.isdigit() else None,
            suffix=".pdf",
        )
    try:
        return await run_in_threadpool(
            lambda: service.store_pdf(
                session, phase_id=phase_id, user=user, staged=staged, storage=storage
            )
        )
    finally:
        staged.path.unlink(missing_ok=True)


@router.get("/phases/{phase_id}/writeups", response_model=list[WriteupOut])
def list_writeups(phase_id: int, _: OrganiserUser, session: SessionDep) -> list[WriteupOut]:
    """Every team's write-up in the phase, teams without one included (organisers)."""
    return service.phase_writeups(session, phase_id=phase_id)


@router.get(
    "/phases/{phase_id}/writeups/{team_id}.pdf",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/pdf": {}}}},
)
def get_writeup_pdf(
    phase_id: int, team_id: int, user: OptionalUser, session: SessionDep, storage: StorageDep
) -> StreamingResponse:
    """A team's write-up: organisers and the team always, everyone once the board is public."""
    key, name = service.pdf_file(session, phase_id=phase_id, team_id=team_id, user=user)
    try:
        stream = storage.open(key)
    except StorageError as exc:
        raise NotFoundError("write-up", f"{phase_id}/{team_id}") from exc
    return StreamingResponse(
        read_chunks(stream),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        },
    )
