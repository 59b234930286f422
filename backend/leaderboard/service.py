"""Leaderboard rules: who sees what, and the cached board for a view and filter.

Ranking itself is :mod:`scoring.ranking`, driven by :mod:`.ranked`: the
counted submissions' stored case results, ranked among the right teams
(public boards without organiser-affiliated teams, ranks recomputed among the
rest). Two cache levels share the work: one ranking (with its bootstrap) per
phase, view and paradigm; one shaped response per centre filter on top.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.auth.roles import is_organiser
from backend.db import utcnow
from backend.errors import DomainError, ForbiddenError
from backend.leaderboard import cache, repository
from backend.leaderboard.context import PhaseContext, load_phase
from backend.leaderboard.ranked import Ranked, rank_phase
from backend.leaderboard.schemas import Board, View
from backend.leaderboard.shaped import shape
from backend.leaderboard.visibility import hidden_note, is_public
from backend.teams.models import Team

__all__ = ["get_board", "get_board_json", "is_organiser", "load_phase"]


def _resolve(
    session: Session,
    *,
    phase_id: int,
    user: User | None,
    view: View = "public",
    centre: str | None = None,
    paradigm: str | None = None,
) -> _Resolved:
    """The phase's leaderboard for a view and filter, from the cache when still current.

    Parameters
    ----------
    session
        The request's session.
    phase_id
        The phase.
    user
        The viewer (``None`` when anonymous).
    view
        ``"public"``: organiser-affiliated teams left out and ranks recomputed
        without them. ``"organisers"``: every team, affiliated ones marked
        (organisers only).
    centre, paradigm
        Restrict the board to one centre's cases and/or one of the task's
        paradigms; ``None`` is the overall / final ranking.

    Returns
    -------
    _Resolved
        The board (no rows when it is hidden from this viewer), its cache key
        and stamp (None for a hidden board, which is not cached).

    Raises
    ------
    DomainError
        404 for an unknown phase, 403 for the organisers' view without the
        role, 422 for an unknown centre or paradigm.
    """
    organiser = is_organiser(user)
    if view == "organisers" and not organiser:
        raise ForbiddenError("the organisers' view is for organisers: use view=public")
    ctx = load_phase(session, phase_id)
    if paradigm is not None and paradigm not in ctx.task.paradigms:
        raise DomainError(
            f"paradigm {paradigm!r} is not one of this task's: {', '.join(ctx.task.paradigms)}",
            422,
        )
    if centre is not None and centre not in ctx.centres:
        known = ", ".join(ctx.centres) or "none"
        raise DomainError(
            f"centre {centre!r} has no test case in this phase; centres: {known}", 422
        )
    public = is_public(ctx.phase)
    note = hidden_note(ctx.phase, now=utcnow())
    if not public and not organiser:
        empty = _empty_board(ctx, view=view, centre=centre, paradigm=paradigm, note=note)
        return _Resolved(empty, None, None)
    current, teams = _stamp(session, ctx)
    key = (phase_id, view, paradigm, centre)

    def build() -> Board:
        ranked = _ranked(session, ctx, teams, current, view=view, paradigm=paradigm)
        base = _empty_board(ctx, view=view, centre=centre, paradigm=paradigm, note=note)
        base = base.model_copy(update={"public": public, "hidden": False})
        return shape(ranked, base, centre=centre, paradigm=paradigm)

    built: Board = cache.BOARDS.get_or_build(("board", *key), current, build)
    return _Resolved(built, key, current)


def get_board(
    session: Session,
    *,
    phase_id: int,
    user: User | None,
    view: View = "public",
    centre: str | None = None,
    paradigm: str | None = None,
) -> Board:
    """The phase's leaderboard for a view and filter, from the cache when still current.

    See :func:`_resolve` for the parameters and errors.
    """
    return _resolve(
        session, phase_id=phase_id, user=user, view=view, centre=centre, paradigm=paradigm
    ).board


def get_board_json(
    session: Session,
    *,
    phase_id: int,
    user: User | None,
    view: View = "public",
    centre: str | None = None,
    paradigm: str | None = None,
) -> bytes:
    """:func:`get_board` serialised, the bytes cached with the board: a large board (intervals
    and significance maps) costs its serialisation once per version, not per request."""
    found = _resolve(
        session, phase_id=phase_id, user=user, view=view, centre=centre, paradigm=paradigm
    )
    if found.key is None:
        return found.board.model_dump_json().encode()
    data: bytes = cache.BOARDS.get_or_build(
        ("json", *found.key), found.current, lambda: found.board.model_dump_json().encode()
    )
    return data


@dataclass(frozen=True, slots=True)
class _Resolved:
    board: Board
    key: tuple[object, ...] | None
    current: tuple[object, ...] | None


def _stamp(session: Session, ctx: PhaseContext) -> tuple[tuple[object, ...], list[Team]]:
    """What a cached board of the phase was built from, and the challenge's teams."""
    # Teams, cases and settings are read on every request anyway (a few dozen
    # rows each), so they join the stamp: a renamed or newly affiliated team, an
    # edited test set or another selection rule is never served stale, whoever
    # forgot to bump the generation.
    teams = repository.challenge_teams(session, challenge_id=ctx.challenge.id)
    current = (
        cache.stamp(session, phase_id=ctx.phase.id),
        ctx.phase.leaderboard_visibility,
        ctx.phase.ranking_selection,
        repr(ctx.phase.ranking),
        tuple(ctx.task.paradigms),
        repr(ctx.task.metric_sets),
        tuple((c.id, c.key, c.centre) for c in ctx.cases),
        tuple((t.id, t.name, t.organiser_affiliated) for t in teams),
    )
    return current, teams


def _ranked(
    session: Session,
    ctx: PhaseContext,
    teams: list[Team],
    current: tuple[object, ...],
    *,
    view: View,
    paradigm: str | None,
) -> Ranked:
    def rank() -> Ranked:
        return rank_phase(session, ctx, teams, view=view, paradigm=paradigm)

    found: Ranked = cache.BOARDS.get_or_build(
        ("ranked", ctx.phase.id, view, paradigm), current, rank
    )
    return found


def ranked_for_organisers(session: Session, *, phase_id: int, paradigm: str | None) -> Ranked:
    """The organisers' view's ranking of a phase (cached with the boards).

    Raises
    ------
    DomainError
        404 for an unknown phase, 422 for an unknown paradigm.
    """
    ctx = load_phase(session, phase_id)
    if paradigm is not None and paradigm not in ctx.task.paradigms:
        raise DomainError(
            f"paradigm {paradigm!r} is not one of this task's: {', '.join(ctx.task.paradigms)}",
            422,
        )
    current, teams = _stamp(session, ctx)
    return _ranked(session, ctx, teams, current, view="organisers", paradigm=paradigm)


def _empty_board(
    ctx: PhaseContext, *, view: View, centre: str | None, paradigm: str | None, note: str | None
) -> Board:
    return Board(
        phase=ctx.ref(),
        view=view,
        centre=centre,
        paradigm=paradigm,
        public=False,
        hidden=True,
        hidden_note=note,
        score_label="",
        columns=[],
        rows=[],
        stability=None,
        notes=[],
        generated_at=utcnow(),
    )
