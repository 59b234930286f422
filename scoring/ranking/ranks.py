"""Ranks with ties, mean ranks, final positions and Kendall's tau, vectorised.

Every function here ranks along the *last* axis, so the same code ranks one
table of teams or a thousand bootstrap samples at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from scoring.ranking.metrics import METRIC_DIRECTIONS, FloatArray, ranking_keys

Ties = Literal["min", "average"]

#: Mean ranks closer than this are equal: they are sums of halves divided by a
#: metric count, so only float summation order can tell them apart.
MEAN_RANK_TOLERANCE = 1e-9


def rank_keys(keys: npt.ArrayLike, *, ties: Ties = "min") -> FloatArray:
    """Rank along the last axis, lower key = better = rank 1.

    Parameters
    ----------
    keys
        Any shape; entries along the last axis are the competitors.
    ties
        ``"min"`` (the default, EVALUATION.md): tied entries share the lowest
        rank, "1, 2, 2, 4". ``"average"``: they share the mean of the ranks they
        span, "1, 2.5, 2.5, 4" (what the TriALS paper's tables imply).

    Returns
    -------
    numpy.ndarray
        float64 ranks, same shape as ``keys``.

    Raises
    ------
    ValueError
        If a key is NaN (a NaN cannot be placed).

    Examples
    --------
    >>> rank_keys([0.1, 0.5, 0.5, 0.9]).tolist()
    [1.0, 2.0, 2.0, 4.0]
    >>> rank_keys([0.1, 0.5, 0.5, 0.9], ties="average").tolist()
    [1.0, 2.5, 2.5, 4.0]
    """
    k = np.asarray(keys, dtype=np.float64)
    if np.isnan(k).any():
        raise ValueError("cannot rank NaN values")
    # O(n²) pairwise comparison: n is a few dozen teams, and it vectorises over samples.
    below = (k[..., None, :] < k[..., :, None]).sum(axis=-1)
    out: FloatArray
    if ties == "min":
        out = (1 + below).astype(np.float64)
        return out
    if ties == "average":
        equal = (k[..., None, :] == k[..., :, None]).sum(axis=-1)
        out = (1 + below + (equal - 1) / 2).astype(np.float64)
        return out
    raise ValueError(f"ties must be 'min' or 'average', not {ties!r}")


def positions(mean_ranks: npt.ArrayLike) -> FloatArray:
    """Final positions from mean ranks (lower is better); equal means share a position.

    Examples
    --------
    >>> positions([2.5, 1.0, 2.5, 3.0]).tolist()
    [2.0, 1.0, 2.0, 4.0]
    """
    m = np.asarray(mean_ranks, dtype=np.float64)
    return rank_keys(np.round(m / MEAN_RANK_TOLERANCE) * MEAN_RANK_TOLERANCE, ties="min")


def kendall_tau(x: npt.ArrayLike, y: npt.ArrayLike) -> FloatArray:
    """Kendall's tau-b between rankings, along the last axis, broadcasting.

    Equals :func:`scipy.stats.kendalltau` (its default tau-b); NaN where either
    ranking is constant.

    Examples
    --------
    >>> float(kendall_tau([1, 2, 3, 4], [1, 2, 3, 4]))
    1.0
    >>> kendall_tau([[1, 2, 3], [3, 2, 1]], [1, 2, 3]).tolist()
    [1.0, -1.0]
    """
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    da = np.sign(a[..., :, None] - a[..., None, :])
    db = np.sign(b[..., :, None] - b[..., None, :])
    # Each unordered pair appears twice in the full matrices; the factor cancels.
    concordant = (da * db).sum(axis=(-2, -1))
    pairs_a = (da != 0).sum(axis=(-2, -1))
    pairs_b = (db != 0).sum(axis=(-2, -1))
    den = np.sqrt(pairs_a.astype(np.float64) * pairs_b)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, concordant / np.where(den > 0, den, 1.0), np.nan)


@dataclass(frozen=True, slots=True)
class MetricRanking:
    """Teams ranked on a set of metrics (one centre, one paradigm).

    Attributes
    ----------
    teams, metrics
        The ranked teams and metrics, in input order.
    values
        ``values[team][metric]``: the metric value.
    ranks
        ``ranks[team][metric]``: the team's rank on that metric (1 = best).
    mean_rank
        ``mean_rank[team]``: the mean of its metric ranks (its score).
    position
        ``position[team]``: its place by mean rank (equal means share one).
    """

    teams: tuple[str, ...]
    metrics: tuple[str, ...]
    values: dict[str, dict[str, float]]
    ranks: dict[str, dict[str, float]]
    mean_rank: dict[str, float]
    position: dict[str, int]

    def order(self) -> list[str]:
        """Teams by position, input order among equals."""
        return sorted(self.teams, key=lambda t: (self.position[t], self.teams.index(t)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "teams": list(self.teams),
            "metrics": list(self.metrics),
            "values": self.values,
            "ranks": self.ranks,
            "mean_rank": self.mean_rank,
            "position": self.position,
        }


def rank_metrics(
    table: Mapping[str, Mapping[str, float]],
    *,
    metrics: Sequence[str],
    ties: Ties = "min",
) -> MetricRanking:
    """Rank teams on each metric, then by the mean of those ranks.

    Parameters
    ----------
    table
        ``table[team][metric]``: dataset metric values (extra metrics ignored).
    metrics
        The metrics to rank on, e.g. :data:`~scoring.ranking.metrics.FULL_METRICS`.
    ties
        See :func:`rank_keys`.

    Returns
    -------
    MetricRanking

    Raises
    ------
    ValueError
        If the table is empty, a metric is unknown or missing, or a value is NaN.

    Examples
    --------
    >>> r = rank_metrics(
    ...     {"a": {"lesion_dice_per_case": 0.8, "lesion_rvd": -0.5},
    ...      "b": {"lesion_dice_per_case": 0.7, "lesion_rvd": 0.1},
    ...      "c": {"lesion_dice_per_case": 0.8, "lesion_rvd": 0.3}},
    ...     metrics=["lesion_dice_per_case", "lesion_rvd"])
    >>> r.ranks["a"]
    {'lesion_dice_per_case': 1.0, 'lesion_rvd': 3.0}
    >>> r.mean_rank, r.order()
    ({'a': 2.0, 'b': 2.0, 'c': 1.5}, ['c', 'a', 'b'])
    """
    teams = tuple(table)
    if not teams:
        raise ValueError("nothing to rank: no teams")
    if not metrics:
        raise ValueError("nothing to rank: no metrics")
    for m in metrics:
        if m not in METRIC_DIRECTIONS:
            raise ValueError(f"{m!r} is not a ranked metric; known: {sorted(METRIC_DIRECTIONS)}")
    missing = [(t, m) for t in teams for m in metrics if m not in table[t]]
    if missing:
        raise ValueError(f"metric values missing for (team, metric): {missing[:5]}")
    values = {m: np.array([float(table[t][m]) for t in teams]) for m in metrics}
    keys = ranking_keys(values, metrics)  # (teams, metrics)
    ranks = rank_keys(keys.T, ties=ties).T
    mean = ranks.mean(axis=1)
    pos = positions(mean)
    return MetricRanking(
        teams=teams,
        metrics=tuple(metrics),
        values={t: {m: float(values[m][i]) for m in metrics} for i, t in enumerate(teams)},
        ranks={
            t: {m: float(ranks[i, j]) for j, m in enumerate(metrics)} for i, t in enumerate(teams)
        },
        mean_rank={t: float(mean[i]) for i, t in enumerate(teams)},
        position={t: int(pos[i]) for i, t in enumerate(teams)},
    )
