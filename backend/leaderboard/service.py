"""Leaderboard rules: who sees what, which submissions count, and the cached board.

Ranking itself is :mod:`scoring.ranking`; this module picks the counted
submissions, loads their stored case results, ranks the right teams (public
boards without organiser-affiliated teams, ranks recomputed among the rest)
and shapes the result for one view and filter. Flushes only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.challenges import repository as challenges
from backend.challenges.models import Challenge, Phase, Task
from backend.db import utcnow
from backend.enums import Role
from backend.errors import DomainError, ForbiddenError, NotFoundError
from backend.leaderboard import cache, repository
from backend.leaderboard.repository import PhaseCase
from backend.leaderboard.schemas import (
    Board,
    Cell,
    Column,
    PhaseRef,
    Row,
    RowStability,
    StabilitySummary,
    View,
)
from backend.leaderboard.selection import counted_submissions
from backend.leaderboard.visibility import hidden_note, is_public
from backend.teams.models import Team
from scoring.ranking import METRIC_DIRECTIONS, bootstrap_stability, leaderboard
from scoring.ranking.bootstrap import RankingStability
from scoring.ranking.ranks import MetricRanking
from scoring.results import CaseResult

#: Bootstrap resamples and seed of every board's stability figures (EVALUATION.md).
BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 20240901


def is_organiser(user: User | None) -> bool:
    """Whether the user runs challenges here."""
    return user is not None and user.role in (Role.ORGANISER, Role.ADMIN)


@dataclass(frozen=True, slots=True)
class PhaseContext:
    """A phase with its task, challenge and hidden test cases."""

    phase: Phase
    task: Task
    challenge: Challenge
    cases: list[PhaseCase]

    @property
    def centres(self) -> list[str]:
        """Centre codes in first-seen case order."""
        return list(dict.fromkeys(c.centre for c in self.cases))

    def ref(self) -> PhaseRef:
        """The phase as responses name it."""
        p = self.phase
        return PhaseRef(
            id=p.id,
            slug=p.slug,
            title=p.title,
            kind=p.kind,
            task=self.task.slug,
            task_title=self.task.title,
            challenge=self.challenge.slug,
            closes_at=p.closes_at,
            leaderboard_visibility=p.leaderboard_visibility,
            ranking_selection=p.ranking_selection,
            paradigms=list(self.task.paradigms),
            centres=self.centres,
        )


def load_phase(session: Session, phase_id: int) -> PhaseContext:
    """The phase's context, or 404."""
    found = challenges.phase_context(session, phase_id)
    if found is None:
        raise NotFoundError("phase", phase_id)
    phase, task, challenge = found
    return PhaseContext(
        phase=phase,
        task=task,
        challenge=challenge,
        cases=repository.test_cases(session, phase_id=phase_id),
    )


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
    Board
        With no rows when the board is hidden from this viewer.

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
        return _empty_board(ctx, view=view, centre=centre, paradigm=paradigm, note=note)
    # Teams are read on every request (a few dozen rows) so that a renamed or
    # newly affiliated team is never shown stale, whoever forgot to bump.
    teams = repository.challenge_teams(session, challenge_id=ctx.challenge.id)
    current = (
        cache.stamp(session, phase_id=phase_id),
        ctx.phase.leaderboard_visibility,
        tuple((t.id, t.name, t.organiser_affiliated) for t in teams),
    )
    key = (phase_id, view, centre, paradigm)

    def build() -> Board:
        board = _build(session, ctx, teams, view=view, centre=centre, paradigm=paradigm)
        return board.model_copy(update={"public": public, "hidden_note": note})

    built: Board = cache.BOARDS.get_or_build(key, current, build)
    return built


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


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _metric_sets(task: Task, paradigms: Sequence[str]) -> Mapping[str, Sequence[str]] | None:
    sets = task.metric_sets or {}
    if not all(isinstance(sets.get(p), list) and sets[p] for p in paradigms):
        return None  # scoring's defaults (EVALUATION.md) cover the TriALS paradigms
    unknown = sorted({m for p in paradigms for m in sets[p]} - set(METRIC_DIRECTIONS))
    if unknown:
        raise DomainError(
            f"task {task.slug}: metric sets name unknown metrics {unknown}; "
            f"known: {sorted(METRIC_DIRECTIONS)}",
            409,
        )
    return {p: list(sets[p]) for p in paradigms}


def _results_by_team(
    session: Session,
    ctx: PhaseContext,
    *,
    team_names: Mapping[int, str],
    evaluations: Mapping[int, int],
) -> tuple[dict[str, dict[str, list[CaseResult]]], list[str]]:
    """Stored results per team and paradigm, whole centres only; and notes on dropped ones."""
    keys = {c.id: c.key for c in ctx.cases}
    centre_of = {c.key: c.centre for c in ctx.cases}
    size = {c: sum(1 for x in ctx.cases if x.centre == c) for c in ctx.centres}
    team_of_eval = {e: t for t, e in evaluations.items()}
    by_team: dict[str, dict[str, list[CaseResult]]] = {}
    for evaluation_id, case_id, paradigm, result in repository.case_results(
        session, evaluation_ids=list(evaluations.values())
    ):
        if case_id not in keys:
            continue  # a score of a case since removed from the test set
        name = team_names[team_of_eval[evaluation_id]]
        res = CaseResult.from_dict({**result, "case_id": keys[case_id]})
        by_team.setdefault(name, {}).setdefault(paradigm, []).append(res)
    notes = []
    for name, per_paradigm in by_team.items():
        for paradigm, results in per_paradigm.items():
            counts: dict[str, int] = {}
            for r in results:
                counts[centre_of[r.case_id]] = counts.get(centre_of[r.case_id], 0) + 1
            partial = {c for c, n in counts.items() if n != size[c]}
            if partial:
                # scoring.ranking refuses a partly scored centre; rank the team there at
                # worst values and say so rather than hide the whole board.
                per_paradigm[paradigm] = [r for r in results if centre_of[r.case_id] not in partial]
                notes.append(
                    f"{name}: {paradigm} scores incomplete for {', '.join(sorted(partial))}; "
                    "ranked at worst values there"
                )
    return by_team, notes


def _stability(st: RankingStability, team: str) -> RowStability:
    t = st.teams[team]
    return RowStability(
        median=t.median, interval=t.interval, share_first=t.share_first, rank_shares=t.rank_shares
    )


def _columns(ranking: MetricRanking, paradigm: str, *, prefix: bool) -> list[Column]:
    return [
        Column(
            key=f"{paradigm}:{m}",
            paradigm=paradigm,
            metric=m,
            label=f"{paradigm} {m}" if prefix else m,
            direction=METRIC_DIRECTIONS[m],
        )
        for m in ranking.metrics
    ]


def _build(
    session: Session,
    ctx: PhaseContext,
    teams: Sequence[Team],
    *,
    view: View,
    centre: str | None,
    paradigm: str | None,
) -> Board:
    ranked_teams = {t.id: t for t in teams if view == "organisers" or not t.organiser_affiliated}
    chosen = {
        team_id: cand
        for team_id, cand in counted_submissions(
            repository.succeeded_submissions(session, phase_id=ctx.phase.id),
            selection=ctx.phase.ranking_selection,
        ).items()
        if team_id in ranked_teams
    }
    paradigms = [paradigm] if paradigm else list(ctx.task.paradigms)
    base = _empty_board(ctx, view=view, centre=centre, paradigm=paradigm, note=None)
    base = base.model_copy(update={"hidden": False})
    if not ctx.cases or not chosen:
        why = "no hidden test cases yet" if not ctx.cases else "no succeeded submission yet"
        return base.model_copy(update={"notes": [why]})
    names = {tid: ranked_teams[tid].name for tid in chosen}
    subs, notes = _results_by_team(
        session, ctx, team_names=names, evaluations={t: c.evaluation_id for t, c in chosen.items()}
    )
    modes = {c.mode for c in chosen.values()}
    if len(modes) > 1:
        raise DomainError(
            f"the counted submissions were scored in different modes {sorted(modes)}: "
            "re-score them in one mode",
            409,
        )
    order = sorted(chosen, key=lambda t: names[t])
    team_list = [names[t] for t in order]
    kwargs: dict[str, Any] = {
        "centres": {c.key: c.centre for c in ctx.cases},
        "paradigms": paradigms,
        "teams": team_list,
        "mode": modes.pop(),
        "metric_sets": _metric_sets(ctx.task, paradigms),
    }
    try:
        board = leaderboard(subs, **kwargs)
        stab = bootstrap_stability(subs, samples=BOOTSTRAP_SAMPLES, seed=BOOTSTRAP_SEED, **kwargs)
    except ValueError as exc:
        raise DomainError(f"cannot rank this phase: {exc}", 409) from exc
    prefix = len(paradigms) > 1
    centre_scores: dict[str, dict[str, float]] = {t: {} for t in team_list}
    if centre is not None:
        cb = board.centres[centre]
        st = stab.centres[centre]
        rankings = {p: cb.paradigms[p] for p in paradigms}
        position, score = cb.position, cb.score
        label = "mean rank" if paradigm else "mean rank over paradigms"
    else:
        st = stab.overall
        rankings = dict(board.pooled)
        position, score = board.position, board.score
        label = "mean over centres of the centre score"
        for c, cb in board.centres.items():
            for t in team_list:
                centre_scores[t][c] = cb.score[t]
    columns = [col for p in paradigms for col in _columns(rankings[p], p, prefix=prefix)]
    rows = []
    for tid in order:
        name = names[tid]
        cells = {
            f"{p}:{m}": Cell(
                value=_finite(rankings[p].values[name][m]), rank=rankings[p].ranks[name][m]
            )
            for p in paradigms
            for m in rankings[p].metrics
        }
        rows.append(
            Row(
                position=position[name],
                team=name,
                team_id=tid,
                affiliated=ranked_teams[tid].organiser_affiliated,
                submission_id=chosen[tid].submission_id,
                submitted_at=chosen[tid].created_at,
                score=score[name],
                cells=cells,
                centre_scores=centre_scores[name],
                missing=board.missing[name],
                stability=_stability(st, name),
            )
        )
    rows.sort(key=lambda r: (r.position, r.team))
    if centre is None:
        notes.append(
            "metric columns are over all cases, for display; positions come from the centre scores"
        )
    return base.model_copy(
        update={
            "score_label": label,
            "columns": columns,
            "rows": rows,
            "notes": notes,
            "stability": StabilitySummary(
                samples=stab.samples,
                seed=stab.seed,
                cases_per_centre=stab.cases_per_centre,
                kendall_tau_mean=st.kendall_tau_mean,
                kendall_tau_median=st.kendall_tau_median,
            ),
        }
    )
