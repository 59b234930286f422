"""Team-aligned case tables and the vectorised evaluation behind boards and bootstraps.

:func:`prepare` checks a phase's stored results once and lays them out as one
``(teams, cases, quantities)`` array per paradigm and centre.
:func:`evaluate` then scores any number of case weightings at once: a weight
row of ones is the point leaderboard, a row of draw counts is a bootstrap
sample, so both always rank the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from scoring.interactive.aggregate import INTERACTIVE_METRICS
from scoring.ranking.metrics import (
    METRIC_SETS,
    FloatArray,
    Result,
    case_quantities,
    check_clicks,
    clicks_of,
    metrics_from_sums,
    ranking_keys,
    table_width,
    worst_metrics,
)
from scoring.ranking.ranks import Ties, rank_keys
from scoring.results import Mode

Aggregation = Literal["dataset", "per_case"]

#: ``submissions[team][paradigm]``: that team's stored results for the phase (lesion-wise,
#: or an interactive phase's per-case curves).
Submissions = Mapping[str, Mapping[str, Sequence[Result]]]


@dataclass(frozen=True, slots=True)
class CaseTable:
    """A phase's results laid out for vectorised scoring.

    Attributes
    ----------
    teams, paradigms, centres
        Ranked teams, scored paradigms, centres in first-seen order.
    metric_sets
        The metrics ranked per paradigm.
    case_ids
        ``case_ids[centre]``: the centre's cases, in the order of the arrays.
    quantities
        ``quantities[paradigm][centre]``: shape ``(teams, cases, QUANTITIES)``.
    present
        ``present[paradigm][centre]``: shape ``(teams,)``, False where the team
        has no result for the centre (it then gets the worst values).
    """

    teams: tuple[str, ...]
    paradigms: tuple[str, ...]
    centres: tuple[str, ...]
    metric_sets: dict[str, tuple[str, ...]]
    case_ids: dict[str, tuple[str, ...]]
    quantities: dict[str, dict[str, FloatArray]]
    present: dict[str, dict[str, np.ndarray]]


def prepare(
    submissions: Submissions,
    *,
    centres: Mapping[str, str],
    paradigms: Sequence[str],
    teams: Sequence[str] | None = None,
    mode: Mode = "paper",
    metric_sets: Mapping[str, Sequence[str]] | None = None,
) -> CaseTable:
    """Check and lay out a phase's results.

    Parameters are those of :func:`scoring.ranking.leaderboard.leaderboard`.

    Returns
    -------
    CaseTable

    Raises
    ------
    ValueError
        On unknown or duplicated cases, a centre only partly scored, results
        of another mode, an unknown paradigm, or nothing to rank.

    Examples
    --------
    >>> from scoring.results import CaseResult
    >>> subs = {"a": {"venous": [CaseResult(case_id="x1", mode="paper")]}}
    >>> t = prepare(subs, centres={"x1": "X", "y1": "Y"}, paradigms=["venous"], teams=["a", "b"])
    >>> t.quantities["venous"]["X"].shape[:2], t.present["venous"]["X"].tolist()
    ((2, 1), [True, False])
    """
    if not centres:
        raise ValueError("no test cases: `centres` maps no case to a centre")
    if not paradigms:
        raise ValueError("no paradigm to score")
    ranked = tuple(submissions) if teams is None else tuple(teams)
    if not ranked:
        raise ValueError("no team to rank")
    if len(set(ranked)) != len(ranked):
        raise ValueError("a team is listed twice")
    every = [r for per_team in submissions.values() for rs in per_team.values() for r in rs]
    check_clicks(every)
    width = table_width(every)
    sets = dict(METRIC_SETS if metric_sets is None else metric_sets)
    for p in paradigms:
        if p not in sets or not sets[p]:
            raise ValueError(f"no metric set for paradigm {p!r}; known: {sorted(sets)}")
    by_centre: dict[str, list[str]] = {}
    for case_id, centre in centres.items():
        by_centre.setdefault(centre, []).append(case_id)
    quantities: dict[str, dict[str, FloatArray]] = {}
    present: dict[str, dict[str, np.ndarray]] = {}
    for p in paradigms:
        quantities[p] = {
            c: np.zeros((len(ranked), len(ids), width)) for c, ids in by_centre.items()
        }
        present[p] = {c: np.zeros(len(ranked), dtype=bool) for c in by_centre}
        for ti, team in enumerate(ranked):
            results = submissions.get(team, {}).get(p, ())
            by_id: dict[str, Result] = {}
            for r in results:
                if r.case_id not in centres:
                    raise ValueError(f"team {team!r}, {p}: case {r.case_id!r} is not a test case")
                if r.case_id in by_id:
                    raise ValueError(f"team {team!r}, {p}: case {r.case_id!r} appears twice")
                by_id[r.case_id] = r
            for c, ids in by_centre.items():
                have = [i for i in ids if i in by_id]
                if not have:
                    continue
                if len(have) != len(ids):
                    raise ValueError(
                        f"team {team!r}, {p}, centre {c!r}: results for {len(have)} of "
                        f"{len(ids)} cases; store every case (missing ones as status 'missing')"
                    )
                rows = case_quantities([by_id[i] for i in ids], mode=mode)
                quantities[p][c][ti] = rows[:, :width]
                present[p][c][ti] = True
    return CaseTable(
        teams=ranked,
        paradigms=tuple(paradigms),
        centres=tuple(by_centre),
        metric_sets={p: tuple(sets[p]) for p in paradigms},
        case_ids={c: tuple(ids) for c, ids in by_centre.items()},
        quantities=quantities,
        present=present,
    )


def sample_metrics(
    quantities: FloatArray, present: np.ndarray, weights: FloatArray, metrics: Sequence[str]
) -> dict[str, FloatArray]:
    """Dataset metrics of every team on every weighting of the cases.

    Parameters
    ----------
    quantities
        ``(teams, cases, QUANTITIES)`` from a :class:`CaseTable`.
    present
        ``(teams,)``: absent teams get the worst values.
    weights
        ``(samples, cases)``: how often each case counts in each sample.
    metrics
        The metrics wanted.

    Returns
    -------
    dict of str to numpy.ndarray
        Each of shape ``(teams, samples)``.

    Examples
    --------
    >>> from scoring.results import CaseResult
    >>> r = CaseResult(case_id="x1", mode="paper", dice=0.5)
    >>> t = prepare({"a": {"venous": [r]}}, centres={"x1": "X"}, paradigms=["venous"],
    ...             teams=["a", "b"])
    >>> m = sample_metrics(t.quantities["venous"]["X"], t.present["venous"]["X"],
    ...                    np.array([[1.0], [3.0]]), ["lesion_dice_per_case", "lesion_voe"])
    >>> m["lesion_dice_per_case"].tolist(), m["lesion_voe"][1].tolist()
    ([[0.5, 0.5], [0.0, 0.0]], [1.0, 1.0])
    """
    sums = np.einsum("bn,tnk->tbk", weights, quantities)
    return metrics_of_sums(sums, present, metrics)


def metrics_of_sums(
    sums: FloatArray, present: np.ndarray, metrics: Sequence[str]
) -> dict[str, FloatArray]:
    """Dataset metrics of ``(teams, samples, QUANTITIES)`` sums; absent teams get the worst values.

    Examples
    --------
    >>> from scoring.ranking.metrics import QUANTITIES
    >>> s = np.zeros((2, 1, len(QUANTITIES)))
    >>> s[:, :, :4] = [1.0, 0.0, 0.0, 0.5]  # one case of Dice 0.5 each
    >>> m = metrics_of_sums(s, np.array([True, False]), ["lesion_dice_per_case"])
    >>> m["lesion_dice_per_case"].tolist()
    [[0.5], [0.0]]
    """
    values = metrics_from_sums(sums, metrics)
    # An interactive board's absent teams get the worst curve at the board's own N.
    clicks = clicks_of(sums) if any(m in INTERACTIVE_METRICS for m in metrics) else None
    worst = worst_metrics(metrics, clicks=clicks)
    return {m: np.where(present[:, None], values[m], worst[m]) for m in metrics}


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Scores of every team on every sample.

    Attributes
    ----------
    values
        ``values[paradigm][centre][metric]``: ``(teams, samples)`` dataset metric
        values of *every* team of the table.
    ranks
        ``ranks[paradigm][centre]``: ``(samples, ranked, metrics)`` per-metric ranks
        (for per-case aggregation, the mean over cases of per-case ranks) of the
        ranked teams (``rows``; default all), in that order.
    centre_scores
        ``centre_scores[centre]``: ``(samples, ranked)``, mean over paradigms of
        the mean metric rank.
    overall
        ``(samples, ranked)``: mean of the centre scores.
    sums
        ``sums[paradigm][centre]``: ``(teams, samples, QUANTITIES)`` weighted
        sums, kept only when asked (pooled metrics add them over centres).
    """

    values: dict[str, dict[str, dict[str, FloatArray]]]
    ranks: dict[str, dict[str, FloatArray]]
    centre_scores: dict[str, FloatArray]
    overall: FloatArray
    sums: dict[str, dict[str, FloatArray]]


def evaluate(
    table: CaseTable,
    weights: Mapping[str, FloatArray],
    *,
    ties: Ties = "min",
    aggregation: Aggregation = "dataset",
    rows: Sequence[int] | None = None,
    keep_sums: bool = False,
) -> Evaluation:
    """Rank every team on every weighting of the cases, per centre and overall.

    Parameters
    ----------
    table
        From :func:`prepare`.
    weights
        ``weights[centre]``: ``(samples, cases)``, the same number of samples
        for every centre.
    ties
        See :func:`scoring.ranking.ranks.rank_keys`.
    aggregation
        ``"dataset"``: rank the dataset metrics. ``"per_case"`` (challengeR
        style): rank each case's metrics, then average the ranks over cases
        with the same weights.
    rows
        Indices of the teams ranked (default all): the others (e.g. reference
        entries shown unranked) get metric values but take no rank.
    keep_sums
        Keep the weighted case sums in :attr:`Evaluation.sums`.

    Returns
    -------
    Evaluation

    Examples
    --------
    >>> from scoring.results import CaseResult
    >>> subs = {t: {"venous": [CaseResult(case_id="x1", mode="paper", dice=d)]}
    ...         for t, d in (("a", 0.9), ("b", 0.4))}
    >>> t = prepare(subs, centres={"x1": "X"}, paradigms=["venous"],
    ...             metric_sets={"venous": ["lesion_dice_per_case"]})
    >>> evaluate(t, {"X": np.ones((1, 1))}).overall.tolist()
    [[1.0, 2.0]]
    """
    if aggregation not in ("dataset", "per_case"):
        raise ValueError(f"aggregation must be 'dataset' or 'per_case', not {aggregation!r}")
    sel = np.arange(len(table.teams)) if rows is None else np.asarray(rows, dtype=np.intp)
    if sel.size == 0:
        raise ValueError("no team to rank")
    values: dict[str, dict[str, dict[str, FloatArray]]] = {}
    ranks: dict[str, dict[str, FloatArray]] = {}
    sums_kept: dict[str, dict[str, FloatArray]] = {}
    centre_scores: dict[str, FloatArray] = {}
    for c in table.centres:
        w = np.asarray(weights[c], dtype=np.float64)
        per_paradigm = []
        for p in table.paradigms:
            metrics = table.metric_sets[p]
            q, present = table.quantities[p][c], table.present[p][c]
            sums = np.einsum("bn,tnk->tbk", w, q)
            if keep_sums:
                sums_kept.setdefault(p, {})[c] = sums
            v = metrics_of_sums(sums, present, metrics)
            values.setdefault(p, {})[c] = v
            if aggregation == "dataset":
                keys = ranking_keys({m: v[m][sel] for m in metrics}, metrics)  # (t, b, m)
                r = rank_keys(keys.transpose(1, 2, 0), ties=ties).transpose(0, 2, 1)
            else:
                n = q.shape[1]
                single = sample_metrics(q[sel], present[sel], np.eye(n), metrics)  # (t, cases)
                keys = ranking_keys(single, metrics)  # (teams, cases, metrics)
                case_ranks = rank_keys(keys.transpose(1, 2, 0), ties=ties)  # (cases, m, teams)
                total = w.sum(axis=1)
                r = np.einsum("bn,nmt->btm", w, case_ranks) / total[:, None, None]
            ranks.setdefault(p, {})[c] = r
            per_paradigm.append(r.mean(axis=2))
        centre_scores[c] = np.mean(per_paradigm, axis=0)
    overall = np.mean([centre_scores[c] for c in table.centres], axis=0)
    return Evaluation(
        values=values,
        ranks=ranks,
        centre_scores=centre_scores,
        overall=overall,
        sums=sums_kept,
    )


def pooled_values(table: CaseTable, ev: Evaluation, paradigm: str) -> dict[str, FloatArray]:
    """Metrics over all centres' cases (each team's available ones), ``(teams, samples)``.

    The weighted sums of the centres add up to the sums over all cases, since
    every case belongs to one centre; needs ``evaluate(..., keep_sums=True)``.
    """
    first, *rest = (ev.sums[paradigm][c] for c in table.centres)
    total = first.copy()
    for more in rest:
        total += more
    present = np.any([table.present[paradigm][c] for c in table.centres], axis=0)
    return metrics_of_sums(total, present, table.metric_sets[paradigm])


def subset_rows(table: CaseTable, names: Sequence[str]) -> list[int]:
    """Row indices of ``names`` in the table (ValueError for an unknown one)."""
    index = {t: i for i, t in enumerate(table.teams)}
    unknown = [n for n in names if n not in index]
    if unknown:
        raise ValueError(f"not in the table: {unknown}")
    return [index[n] for n in names]
