"""Interactive phases: the organisers' click files and the per-case click curves."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from starlette.concurrency import run_in_threadpool

from backend.deps import CurrentUser, OrganiserUser, SessionDep, SettingsDep, session_released
from backend.interactive import repository, results, service
from backend.interactive.schemas import (
    ClickSetOut,
    ClickSetStoredOut,
    PhaseInteractiveOut,
    SubmissionInteractiveOut,
)
from backend.uploads import binary_body, receive_body

router = APIRouter(tags=["interactive"])


@router.get("/phases/{phase_id}/click-sets", response_model=list[ClickSetOut])
def list_click_sets(phase_id: int, _: OrganiserUser, session: SessionDep) -> list[ClickSetOut]:
    """Every version of a static interactive phase's uploaded click files (organisers)."""
    service.interactive_phase(session, phase_id)
    return [
        ClickSetOut.model_validate(c) for c in repository.click_sets_of(session, phase_id=phase_id)
    ]


@router.post(
    "/phases/{phase_id}/click-sets",
    response_model=ClickSetStoredOut,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=binary_body(
        "A .tar.gz or .zip of <case>_clicks.json files (TriALS format), one per hidden case."
    ),
)
async def upload_click_set(
    *,
    phase_id: int,
    request: Request,
    organiser: OrganiserUser,
    session: SessionDep,
    settings: SettingsDep,
) -> ClickSetStoredOut:
    """Store the phase's click files as its next, active version (never overwrites; audited).

    Used by runs when the phase has `click_source: uploaded`.
    """
    async with session_released(request, session):
        staged = await receive_body(request, settings, suffix=".archive")
    try:
        click_set, created, warnings = await run_in_threadpool(
            lambda: service.store_click_set(
                session,
                phase_id=phase_id,
                archive=staged.path,
                data_root=settings.data_root,
                actor=organiser,
            )
        )
    finally:
        staged.path.unlink(missing_ok=True)
    return ClickSetStoredOut(
        **ClickSetOut.model_validate(click_set).model_dump(), created=created, warnings=warnings
    )


@router.get(
    "/submissions/{submission_id}/interactive-scores", response_model=SubmissionInteractiveOut
)
def get_submission_interactive(
    submission_id: int, user: CurrentUser, session: SessionDep, detail: bool = True
) -> SubmissionInteractiveOut:
    """A submission's per-case click curves (organisers; a team its own, in validation phases).

    `detail=false` leaves out each case's steps (`result`), keeping the six
    ranked values and the Dice curve.
    """
    return results.submission_results(
        session, submission_id=submission_id, user=user, detail=detail
    )


@router.get("/phases/{phase_id}/interactive-scores", response_model=PhaseInteractiveOut)
def get_phase_interactive(
    phase_id: int, _: OrganiserUser, session: SessionDep, detail: bool = False
) -> PhaseInteractiveOut:
    """Each team's counted submission with its per-case click curves (organisers)."""
    return results.phase_results(session, phase_id=phase_id, detail=detail)
