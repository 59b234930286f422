"""Leaderboards (JSON and CSV) and the organisers' leaderboard actions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from backend.deps import OptionalUser, OrganiserUser, SessionDep, SettingsDep
from backend.errors import DomainError
from backend.leaderboard import actions, service
from backend.leaderboard.comparisons import CentreComparisonsOut, centre_comparisons
from backend.leaderboard.csv_export import board_csv
from backend.leaderboard.schemas import (
    ActionOut,
    Board,
    TeamsOut,
    View,
)
from backend.references.router import router as references_router
from backend.writeups.router import router as writeups_router

router = APIRouter(tags=["leaderboard"])

CentreQuery = Annotated[
    str | None, Query(description="A centre's code: that centre's ranking. Omit for overall.")
]
ParadigmQuery = Annotated[
    str | None,
    Query(description="One of the task's paradigms. Omit for the task's final ranking."),
]
ViewQuery = Annotated[
    View,
    Query(description="`organisers` adds organiser-affiliated teams (organisers only)."),
]


@router.get("/phases/{phase_id}/leaderboard", response_model=Board, response_class=Response)
def get_leaderboard(
    *,
    phase_id: int,
    session: SessionDep,
    user: OptionalUser,
    centre: CentreQuery = None,
    paradigm: ParadigmQuery = None,
    view: ViewQuery = "public",
) -> Response:
    """The phase's ranking: every metric value and rank, mean rank, position, stability.

    Hidden boards (final phases until published) come back with `hidden: true`,
    a `hidden_note` and no rows, except to organisers.
    """
    body = service.get_board_json(
        session, phase_id=phase_id, user=user, view=view, centre=centre, paradigm=paradigm
    )
    return Response(body, media_type="application/json")


@router.get(
    "/phases/{phase_id}/leaderboard.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "One row per team."}},
)
def get_leaderboard_csv(
    *,
    phase_id: int,
    session: SessionDep,
    user: OptionalUser,
    centre: CentreQuery = None,
    paradigm: ParadigmQuery = None,
    view: ViewQuery = "public",
) -> Response:
    """The same board as CSV (403 while it is hidden from you)."""
    board = service.get_board(
        session, phase_id=phase_id, user=user, view=view, centre=centre, paradigm=paradigm
    )
    if board.hidden:
        raise DomainError(board.hidden_note or "this leaderboard is hidden", 403)
    name = f"leaderboard-{board.phase.challenge}-{board.phase.task}-{board.phase.slug}"
    name += "".join(f"-{x}" for x in (centre, paradigm) if x)
    return Response(
        board_csv(board),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.get("/phases/{phase_id}/centre-comparisons", response_model=CentreComparisonsOut)
def get_centre_comparisons(
    phase_id: int, _: OrganiserUser, session: SessionDep, paradigm: ParadigmQuery = None
) -> CentreComparisonsOut:
    """Does each metric differ between centres? Team-level Mann-Whitney U per centre pair,
    Benjamini-Hochberg-adjusted over all comparisons (organisers)."""
    return centre_comparisons(session, phase_id=phase_id, paradigm=paradigm)


@router.post("/phases/{phase_id}/leaderboard/publish", response_model=ActionOut)
def publish_leaderboard(phase_id: int, organiser: OrganiserUser, session: SessionDep) -> ActionOut:
    """Make a closed phase's leaderboard public (organisers; idempotent; audited)."""
    return actions.publish(session, phase_id=phase_id, actor=organiser)


@router.get("/phases/{phase_id}/teams", response_model=TeamsOut)
def list_phase_teams(phase_id: int, _: OrganiserUser, session: SessionDep) -> TeamsOut:
    """Every team of the phase's challenge, organiser-affiliated ones included (organisers)."""
    return actions.phase_teams(session, phase_id=phase_id)


@router.post("/phases/{phase_id}/rescore", response_model=ActionOut)
def rescore_phase(
    phase_id: int, organiser: OrganiserUser, session: SessionDep, settings: SettingsDep
) -> ActionOut:
    """Re-score the phase's succeeded submissions against the active label sets from their
    stored predictions, without running any container again (organisers; audited).

    Use it after publishing a new label-set version: each submission gets a new evaluation
    tagged with the new versions. 409 when a paradigm has no active label set or nothing
    has succeeded yet."""
    return actions.rescore_phase(
        session, phase_id=phase_id, actor=organiser, queue=settings.evaluation_queue
    )


# The board's own sub-domains: reference entries and write-ups (mounted with the board's API).
router.include_router(references_router)
router.include_router(writeups_router)
