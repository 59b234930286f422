"""Rank a phase once per view and paradigm, then shape that ranking for each centre filter.

:func:`rank_phase` does the expensive part (stored case results, the point
board and the 1,000-sample bootstrap); :func:`shape` turns it into the
response for one centre filter, so the centre tabs of a board share one
bootstrap.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from backend.challenges.models import Task
from backend.errors import DomainError
from backend.leaderboard import cache, repository
from backend.leaderboard.context import PhaseContext
from backend.leaderboard.repository import Candidate
from backend.leaderboard.schemas import (
    Board,
    Cell,
    Column,
    Row,
    RowStability,
    StabilitySummary,
    TeamRef,
    View,
)
from backend.leaderboard.selection import counted_submissions
from backend.teams.models import Team
from scoring.ranking import (
    METRIC_DIRECTIONS,
    Leaderboard,
    Stability,
    bootstrap_stability,
    leaderboard,
)
from scoring.ranking.bootstrap import RankingStability
from scoring.ranking.ranks import MetricRanking
from scoring.results import CaseResult

#: Bootstrap resamples and seed of every board's stability figures (docs/evaluation.md).
BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 20240901


@dataclass(frozen=True)
class Ranked:
    """A phase ranked for one view and paradigm choice (all centres).

    ``board`` and ``stability`` are None when there is nothing to rank; ``notes``
    then says why.
    """

    paradigms: list[str]
    teams: dict[int, TeamRef]
    chosen: dict[int, Candidate]
    order: list[int]
    board: Leaderboard | None
    stability: Stability | None
    notes: list[str] = field(default_factory=list)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _metric_sets(task: Task, paradigms: Sequence[str]) -> Mapping[str, Sequence[str]] | None:
    sets = task.metric_sets or {}
    if not all(isinstance(sets.get(p), list) and sets[p] for p in paradigms):
        return None  # scoring's defaults (docs/evaluation.md) cover the TriALS paradigms
    unknown = sorted({m for p in paradigms for m in sets[p]} - set(METRIC_DIRECTIONS))
    if unknown:
        raise DomainError(
            f"task {task.slug}: metric sets name unknown metrics {unknown}; "
            f"known: {sorted(METRIC_DIRECTIONS)}",
            409,
        )
    return {p: list(sets[p]) for p in paradigms}


def _evaluation_results(
    session: Session, ctx: PhaseContext, *, evaluation_ids: Sequence[int]
) -> dict[int, dict[str, list[CaseResult]]]:
    """``results[evaluation][paradigm]``, parsed once per evaluation and phase generation."""
    stamp = repository.generation(session, phase_id=ctx.phase.id)
    out: dict[int, dict[str, list[CaseResult]]] = {}
    for e in evaluation_ids:
        found = cache.RESULTS.get(("evaluation", e), stamp)
        if found is not None:
            out[e] = found
    missing = [e for e in evaluation_ids if e not in out]
    keys = {c.id: c.key for c in ctx.cases}
    loaded: dict[int, dict[str, list[CaseResult]]] = {e: {} for e in missing}
    for evaluation_id, case_id, paradigm, result in repository.case_results(
        session, evaluation_ids=missing
    ):
        if case_id not in keys:
            continue  # a score of a case since removed from the test set
        res = CaseResult.from_dict({**result, "case_id": keys[case_id]})
        loaded[evaluation_id].setdefault(paradigm, []).append(res)
    for e, per_paradigm in loaded.items():
        cache.RESULTS.put(("evaluation", e), stamp, per_paradigm)
    out.update(loaded)
    return out


def _results_by_team(
    session: Session,
    ctx: PhaseContext,
    *,
    team_names: Mapping[int, str],
    evaluations: Mapping[int, int],
) -> tuple[dict[str, dict[str, list[CaseResult]]], list[str]]:
    """Stored results per team and paradigm, whole centres only; and notes on dropped ones."""
    centre_of = {c.key: c.centre for c in ctx.cases}
    size = {c: sum(1 for x in ctx.cases if x.centre == c) for c in ctx.centres}
    stored = _evaluation_results(session, ctx, evaluation_ids=list(evaluations.values()))
    by_team: dict[str, dict[str, list[CaseResult]]] = {}
    notes = []
    for team_id, evaluation_id in evaluations.items():
        name = team_names[team_id]
        by_team[name] = {}
        for paradigm, results in stored[evaluation_id].items():
            kept = results
            counts: dict[str, int] = {}
            for r in results:
                counts[centre_of[r.case_id]] = counts.get(centre_of[r.case_id], 0) + 1
            partial = {c for c, n in counts.items() if n != size[c]}
            if partial:
                # scoring.ranking refuses a partly scored centre; rank the team there at
                # worst values and say so rather than hide the whole board.
                kept = [r for r in results if centre_of[r.case_id] not in partial]
                notes.append(
                    f"{name}: {paradigm} scores incomplete for {', '.join(sorted(partial))}; "
                    "ranked at worst values there"
                )
            by_team[name][paradigm] = kept
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


def rank_phase(
    session: Session,
    ctx: PhaseContext,
    teams: Sequence[Team],
    *,
    view: View,
    paradigm: str | None,
) -> Ranked:
    """Rank the phase's counted submissions for a view (all centres).

    Raises
    ------
    DomainError
        409 when the stored results cannot be ranked (mixed scoring modes,
        unknown metrics in the task's metric sets).
    """
    # Plain copies: a ranking outlives the session its Team rows came from.
    ranked_teams = {
        t.id: TeamRef(id=t.id, name=t.name, affiliated=t.organiser_affiliated)
        for t in teams
        if view == "organisers" or not t.organiser_affiliated
    }
    chosen = {
        team_id: cand
        for team_id, cand in counted_submissions(
            repository.succeeded_submissions(session, phase_id=ctx.phase.id),
            selection=ctx.phase.ranking_selection,
        ).items()
        if team_id in ranked_teams
    }
    paradigms = [paradigm] if paradigm else list(ctx.task.paradigms)
    if not ctx.cases or not chosen:
        why = "no hidden test cases yet" if not ctx.cases else "no succeeded submission yet"
        return Ranked(paradigms, ranked_teams, chosen, [], None, None, [why])
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
    kwargs: dict[str, Any] = {
        "centres": {c.key: c.centre for c in ctx.cases},
        "paradigms": paradigms,
        "teams": [names[t] for t in order],
        "mode": modes.pop(),
        "metric_sets": _metric_sets(ctx.task, paradigms),
    }
    try:
        board = leaderboard(subs, **kwargs)
        stab = bootstrap_stability(subs, samples=BOOTSTRAP_SAMPLES, seed=BOOTSTRAP_SEED, **kwargs)
    except ValueError as exc:
        raise DomainError(f"cannot rank this phase: {exc}", 409) from exc
    return Ranked(paradigms, ranked_teams, chosen, order, board, stab, notes)


def shape(ranked: Ranked, base: Board, *, centre: str | None, paradigm: str | None) -> Board:
    """The response for one centre filter (``None``: overall) of a ranking."""
    board, stab = ranked.board, ranked.stability
    if board is None or stab is None:
        return base.model_copy(update={"notes": list(ranked.notes)})
    paradigms = ranked.paradigms
    names = {tid: ranked.teams[tid].name for tid in ranked.order}
    notes = list(ranked.notes)
    prefix = len(paradigms) > 1
    centre_scores: dict[str, dict[str, float]] = {n: {} for n in names.values()}
    st: RankingStability
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
            for name in names.values():
                centre_scores[name][c] = cb.score[name]
        notes.append(
            "metric columns are over all cases, for display; positions come from the centre scores"
        )
    columns = [col for p in paradigms for col in _columns(rankings[p], p, prefix=prefix)]
    rows = []
    for tid in ranked.order:
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
                affiliated=ranked.teams[tid].affiliated,
                submission_id=ranked.chosen[tid].submission_id,
                submitted_at=ranked.chosen[tid].created_at,
                score=score[name],
                cells=cells,
                centre_scores=centre_scores[name],
                missing=board.missing[name],
                stability=_stability(st, name),
            )
        )
    rows.sort(key=lambda r: (r.position, r.team))
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
