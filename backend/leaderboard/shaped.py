"""One board response from a :class:`~backend.leaderboard.ranked.Ranked`: rows for a centre
filter, with intervals, strata, label versions and the significance map (computed here, once
per board version and filter, and cached with the response)."""

from __future__ import annotations

import math

# scipy.stats takes a second to import: pay it when the API starts, not on a first board.
import scipy.stats  # noqa: F401

from backend.leaderboard.entries import Entry
from backend.leaderboard.ranked import Ranked
from backend.leaderboard.schemas import (
    Board,
    Cell,
    Column,
    CurveOut,
    LabelVersionsOut,
    ReferenceInfo,
    Row,
    RowStability,
    SignificanceOut,
    StabilitySummary,
    StratumOut,
    WaitingOut,
)
from backend.leaderboard.versions import Versions
from scoring.interactive.aggregate import LABELS
from scoring.ranking import METRIC_DIRECTIONS
from scoring.ranking.analysis import POOLED, case_keys
from scoring.ranking.bootstrap import RankingStability
from scoring.ranking.ranks import MetricRanking
from scoring.ranking.significance import significance_map

#: Level of the significance maps' Holm-adjusted p-values.
SIGNIFICANCE_ALPHA = 0.05


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def _versions(v: Versions | None) -> dict[str, int]:
    return dict(v or ())


def _columns(ranking: MetricRanking, paradigm: str, *, prefix: bool) -> list[Column]:
    return [
        Column(
            key=f"{paradigm}:{m}",
            paradigm=paradigm,
            metric=m,
            label=f"{paradigm} {LABELS.get(m, m)}" if prefix else LABELS.get(m, m),
            direction=METRIC_DIRECTIONS[m],
        )
        for m in ranking.metrics
    ]


def _stability(st: RankingStability, key: str) -> RowStability:
    t = st.teams[key]
    return RowStability(
        median=t.median, interval=t.interval, share_first=t.share_first, rank_shares=t.rank_shares
    )


def _significance(ranked: Ranked, order: list[Entry], centre: str | None) -> list[SignificanceOut]:
    analysis = ranked.analysis
    assert analysis is not None
    index = {t: i for i, t in enumerate(analysis.table.teams)}
    rows = [index[e.key] for e in order]
    out = []
    for p in ranked.paradigms:
        metrics = analysis.table.metric_sets[p]
        metric = ranked.rules.significance_metric
        if metric not in metrics:
            metric = metrics[0]
        keys = case_keys(analysis.table, paradigm=p, metric=metric, centre=centre)[rows]
        m = significance_map([e.name for e in order], keys, alpha=SIGNIFICANCE_ALPHA)
        out.append(
            SignificanceOut(
                paradigm=p,
                metric=metric,
                alpha=m.alpha,
                cases=m.cases,
                entries=list(m.entries),
                p_adjusted=m.p_adjusted,
                significant=m.significant,
            )
        )
    return out


def shape(ranked: Ranked, base: Board, *, centre: str | None, paradigm: str | None) -> Board:
    """The response for one centre filter (``None``: overall) of a ranking."""
    labels = LabelVersionsOut(
        ranked=_versions(ranked.versions),
        active=_versions(ranked.active),
        rescoring=ranked.rescoring,
        waiting=[
            WaitingOut(team=e.name, label_versions=_versions(e.versions)) for e in ranked.waiting
        ],
    )
    common = {
        "rules": ranked.rules,
        "label_versions": labels,
        "strata_bounds": list(ranked.rules.size_strata_mm3),
    }
    analysis = ranked.analysis
    if analysis is None:
        return base.model_copy(update={"notes": list(ranked.notes), **common})
    board, stab = analysis.board, analysis.stability
    paradigms = ranked.paradigms
    notes = list(ranked.notes)
    prefix = len(paradigms) > 1
    scope = POOLED if centre is None else centre
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
        notes.append(
            "metric columns are over all cases, for display; positions come from the centre scores"
        )
    columns = [col for p in paradigms for col in _columns(rankings[p], p, prefix=prefix)]
    rows = []
    for e in ranked.entries:
        cells = {}
        for p in paradigms:
            values = analysis.values[p][scope][e.key]
            intervals = analysis.intervals[p][scope][e.key]
            for m in rankings[p].metrics:
                cells[f"{p}:{m}"] = Cell(
                    value=_finite(values[m]),
                    rank=rankings[p].ranks[e.key][m] if e.ranked else None,
                    interval=intervals[m],
                )
        strata = {
            p: [StratumOut(**s.to_dict()) for s in found]
            for p in paradigms
            if (found := ranked.strata[p][scope].get(e.key)) is not None
        }
        rows.append(
            Row(
                position=position[e.key] if e.ranked else None,
                team=e.name,
                team_id=e.team_id,
                kind=e.kind,
                ranked=e.ranked,
                affiliated=e.affiliated,
                reference=None
                if e.reference_id is None
                else ReferenceInfo(
                    id=e.reference_id,
                    kind=e.kind,
                    description=e.description,
                ),
                submission_id=e.submission_id,
                submitted_at=e.submitted_at,
                entries=e.entries,
                method=e.method,
                rerunning=e.rerunning,
                label_versions=_versions(e.versions),
                score=score[e.key] if e.ranked else None,
                cells=cells,
                centre_scores=(
                    {c: cb_.score[e.key] for c, cb_ in board.centres.items()}
                    if centre is None and e.ranked
                    else {}
                ),
                missing=board.missing[e.key] if e.ranked else [],
                stability=_stability(st, e.key) if e.ranked else None,
                strata=strata or None,
            )
        )
    # Ranked rows by position, then the unranked reference rows.
    rows.sort(key=lambda r: (r.position is None, r.position or 0, r.team))
    order = sorted(ranked.entries, key=lambda e: (not e.ranked, position.get(e.key, 0), e.name))
    curves = [
        CurveOut(team=e.name, kind=e.kind, ranked=e.ranked, paradigm=p, dice=curve)
        for p in paradigms
        for e in order
        if (curve := ranked.curves.get(p, {}).get(scope, {}).get(e.key))
    ]
    return base.model_copy(
        update={
            **common,
            "score_label": label,
            "columns": columns,
            "rows": rows,
            "notes": notes,
            "significance": _significance(ranked, order, centre),
            "curves": curves,
            "stability": StabilitySummary(
                samples=stab.samples,
                seed=stab.seed,
                cases_per_centre=stab.cases_per_centre,
                kendall_tau_mean=st.kendall_tau_mean,
                kendall_tau_median=st.kendall_tau_median,
                kendall_tau_samples=st.kendall_tau_samples,
                interval_confidence=analysis.confidence,
            ),
        }
    )
