"""A board's whole analysis in one pass: ranking, rank stability, metric intervals, per-case scores.

:func:`analyse` prepares the case tables once for every entry shown on a board
(teams, and reference entries ranked among them or shown unranked beside them),
ranks the ranked ones on the point board and on B stratified bootstrap
resamples, and from the *same* resamples gives every shown entry a percentile
interval for each metric, per centre and over all cases. :func:`case_keys`
gives the per-case scores the significance map tests.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scoring.ranking.bootstrap import Stability, bootstrap_weights, summarise
from scoring.ranking.cases import (
    Aggregation,
    CaseTable,
    Evaluation,
    Submissions,
    evaluate,
    pooled_values,
    prepare,
    sample_metrics,
)
from scoring.ranking.leaderboard import Leaderboard, board_from
from scoring.ranking.metrics import FloatArray, ranking_keys
from scoring.ranking.ranks import Ties
from scoring.results import Mode

#: The scope key of figures over all cases (a centre's code otherwise).
POOLED = ""

#: ``values[paradigm][scope][entry][metric]``.
Values = dict[str, dict[str, dict[str, dict[str, float]]]]
#: ``intervals[paradigm][scope][entry][metric] = (low, high)``.
Intervals = dict[str, dict[str, dict[str, dict[str, tuple[float, float]]]]]


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything a board shows that needs the case tables.

    Attributes
    ----------
    table
        The case tables of every shown entry (ranked ones first).
    ranked
        The entries that take positions.
    board
        The point leaderboard of the ranked entries.
    stability
        Their rank distributions over the bootstrap resamples.
    values
        Point metric values of every shown entry, per paradigm and scope
        (:data:`POOLED` or a centre).
    intervals
        Percentile intervals of the same, from the same resamples as ``stability``.
    confidence
        The intervals' coverage (0.95: the 2.5th and 97.5th percentiles).
    """

    table: CaseTable
    ranked: tuple[str, ...]
    board: Leaderboard
    stability: Stability
    values: Values
    intervals: Intervals
    confidence: float


def percentiles(values: FloatArray, qs: Sequence[float]) -> list[FloatArray]:
    """numpy's default (linear) percentiles along the last axis of finite values, from one
    partial sort of ``values`` in place (no NaN pass, no copy: a board's intervals are
    millions of numbers).

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(3, 1001))
    >>> got = percentiles(x.copy(), [2.5, 97.5])
    >>> bool(np.allclose(got, np.percentile(x, [2.5, 97.5], axis=-1)))
    True
    """
    n = values.shape[-1]
    positions = [q / 100 * (n - 1) for q in qs]
    kth = sorted({int(np.floor(x)) for x in positions} | {int(np.ceil(x)) for x in positions})
    values.partition(kth, axis=-1)
    out = []
    for x in positions:
        lo, hi = int(np.floor(x)), int(np.ceil(x))
        below, above = values[..., lo], values[..., hi]
        out.append(below + (x - lo) * (above - below))
    return out


def _per_scope(table: CaseTable, ev: Evaluation, paradigm: str) -> dict[str, dict[str, FloatArray]]:
    """``out[scope][metric]``: ``(entries, samples)`` for every centre and pooled."""
    out = {c: ev.values[paradigm][c] for c in table.centres}
    out[POOLED] = pooled_values(table, ev, paradigm)
    return out


def analyse(
    submissions: Submissions,
    *,
    centres: Mapping[str, str],
    paradigms: Sequence[str],
    ranked: Sequence[str],
    unranked: Sequence[str] = (),
    mode: Mode = "paper",
    ties: Ties = "min",
    aggregation: Aggregation = "dataset",
    metric_sets: Mapping[str, Sequence[str]] | None = None,
    samples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> Analysis:
    """Rank ``ranked``, show ``unranked`` beside them, with stability and metric intervals.

    Parameters
    ----------
    submissions, centres, paradigms, mode, ties, aggregation, metric_sets
        As for :func:`scoring.ranking.leaderboard.leaderboard`.
    ranked
        Entries that take positions (ranks are computed among them only).
    unranked
        Entries shown with their metric values and intervals but no rank.
    samples, seed
        The bootstrap resamples (stratified by centre), as for
        :func:`scoring.ranking.bootstrap.bootstrap_stability`, which gives the
        same rank figures for the same seed.
    confidence
        Coverage of the metric intervals.

    Returns
    -------
    Analysis

    Examples
    --------
    >>> from scoring.results import CaseResult
    >>> def res(case, dice):
    ...     return CaseResult(case_id=case, mode="paper", dice=dice, intersection=int(dice * 10),
    ...                       pred_voxels=10, label_voxels=10, tp_50=1, tp_0=1, lesion_count=1)
    >>> subs = {t: {"venous": [res("x1", d), res("x2", d - 0.1)]}
    ...         for t, d in (("a", 0.9), ("b", 0.6), ("ref", 0.95))}
    >>> an = analyse(subs, centres={"x1": "X", "x2": "X"}, paradigms=["venous"],
    ...              ranked=["a", "b"], unranked=["ref"], samples=200, seed=1)
    >>> an.board.order(), round(an.values["venous"][POOLED]["ref"]["lesion_dice_per_case"], 9)
    (['a', 'b'], 0.9)
    >>> an.intervals["venous"]["X"]["a"]["lesion_dice_per_case"]
    (0.8, 0.9)
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    overlap = set(ranked) & set(unranked)
    if overlap:
        raise ValueError(f"entries both ranked and unranked: {sorted(overlap)}")
    table = prepare(
        submissions,
        centres=centres,
        paradigms=paradigms,
        teams=[*ranked, *unranked],
        mode=mode,
        metric_sets=metric_sets,
    )
    rows = list(range(len(ranked)))
    ones = {c: np.ones((1, len(ids))) for c, ids in table.case_ids.items()}
    kwargs = {"ties": ties, "aggregation": aggregation, "rows": rows, "keep_sums": True}
    point = evaluate(table, ones, **kwargs)  # type: ignore[arg-type]
    board = board_from(table, point, rows=rows, ties=ties, aggregation=aggregation, mode=mode)
    weights = bootstrap_weights(table, samples=samples, seed=seed)
    boot = evaluate(table, weights, **kwargs)  # type: ignore[arg-type]
    names = tuple(ranked)
    stability = Stability(
        samples=samples,
        seed=seed,
        cases_per_centre={c: len(ids) for c, ids in table.case_ids.items()},
        overall=summarise(names, point.overall[0], boot.overall),
        centres={
            c: summarise(names, point.centre_scores[c][0], boot.centre_scores[c])
            for c in table.centres
        },
    )
    tail = (1.0 - confidence) / 2 * 100
    values: Values = {}
    intervals: Intervals = {}
    for p in table.paradigms:
        metrics = table.metric_sets[p]
        point_scopes = _per_scope(table, point, p)
        boot_scopes = _per_scope(table, boot, p)
        for scope, by_metric in boot_scopes.items():
            stacked = np.stack([by_metric[m] for m in metrics], axis=1)  # (entries, m, samples)
            # The stack is our own copy: let the partial sort work in place.
            low, high = np.percentile(stacked, [tail, 100 - tail], axis=-1, overwrite_input=True)
            # Whole columns to Python floats at once: element-wise indexing of numpy
            # scalars cost more than the percentiles themselves at 50 teams.
            at_point = {m: point_scopes[scope][m][:, 0].tolist() for m in metrics}
            lows, highs = low.tolist(), high.tolist()
            values.setdefault(p, {})[scope] = {
                t: {m: at_point[m][i] for m in metrics} for i, t in enumerate(table.teams)
            }
            intervals.setdefault(p, {})[scope] = {
                t: {m: (lows[i][k], highs[i][k]) for k, m in enumerate(metrics)}
                for i, t in enumerate(table.teams)
            }
    return Analysis(
        table=table,
        ranked=names,
        board=board,
        stability=stability,
        values=values,
        intervals=intervals,
        confidence=confidence,
    )


def case_keys(
    table: CaseTable, *, paradigm: str, metric: str, centre: str | None = None
) -> FloatArray:
    """Per-case scores of every entry as "lower is better" keys, ``(entries, cases)``.

    A case's score is the metric computed on that case alone (what per-case
    ranking ranks); an entry without results for a centre gets the worst value
    on its cases. ``centre`` None: every case, centre by centre.
    """
    if metric not in table.metric_sets[paradigm]:
        raise ValueError(f"{metric!r} is not ranked in paradigm {paradigm!r}")
    scopes = table.centres if centre is None else (centre,)
    parts = []
    for c in scopes:
        q, present = table.quantities[paradigm][c], table.present[paradigm][c]
        single = sample_metrics(q, present, np.eye(q.shape[1]), [metric])
        parts.append(ranking_keys(single, [metric])[..., 0])
    return np.concatenate(parts, axis=1)
