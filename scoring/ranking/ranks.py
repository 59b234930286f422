"""Ranks with ties, mean ranks, final positions and Kendall's tau, vectorised.

Every function here ranks along the *last* axis, so the same code ranks one
table of teams or a thousand bootstrap samples at once. Ranks and Kendall's tau
are sort-based, O(n log n) per row of n teams, beyond a few dozen teams (below
that the pairwise O(n²) comparisons are faster); both give exactly the same
figures (tests/scoring/test_ranking_ranks_fast.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from scoring.ranking.metrics import METRIC_DIRECTIONS, FloatArray, ranking_keys

Ties = Literal["min", "average"]
IntArray = npt.NDArray[np.int64]

#: Mean ranks closer than this are equal: they are sums of halves divided by a
#: metric count, so only float summation order can tell them apart.
MEAN_RANK_TOLERANCE = 1e-9

#: Up to this many competitors pairwise O(n²) comparisons beat a sort, whose
#: per-row overhead dominates short rows; measured for ranks and Kendall's tau
#: alike (docs/benchmarks.md, ranking/bootstrap).
PAIRWISE_MAX_TEAMS = 24


def rank_keys(keys: npt.ArrayLike, *, ties: Ties = "min") -> FloatArray:
    """Rank along the last axis, lower key = better = rank 1.

    Parameters
    ----------
    keys
        Any shape; entries along the last axis are the competitors.
    ties
        ``"min"`` (the default; docs/evaluation.md, "Ranking"): tied entries share the lowest
        rank, "1, 2, 2, 4". ``"average"``: they share the mean of the ranks they
        span, "1, 2.5, 2.5, 4" (what the TriALS paper's tables imply).

    Returns
    -------
    numpy.ndarray
        float64 ranks, same shape as ``keys``.

    Raises
    ------
    ValueError
        If a key is NaN (a NaN cannot be placed), ``keys`` is a scalar, or
        ``ties`` is unknown.

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
    if ties not in ("min", "average"):
        raise ValueError(f"ties must be 'min' or 'average', not {ties!r}")
    if k.ndim == 0:
        raise ValueError("cannot rank a scalar: keys need at least one axis")
    n = k.shape[-1]
    if n == 0:
        return np.zeros(k.shape, dtype=np.float64)
    if n <= PAIRWISE_MAX_TEAMS:
        return _ranks_pairwise(k, ties)
    return _ranks_sorted(k, ties)


def _ranks_pairwise(k: FloatArray, ties: Ties) -> FloatArray:
    """Rank = 1 + entries strictly below (+ half the other tied entries), O(n²) per row."""
    below = (k[..., None, :] < k[..., :, None]).sum(axis=-1)
    out: FloatArray
    if ties == "min":
        out = (1 + below).astype(np.float64)
        return out
    equal = (k[..., None, :] == k[..., :, None]).sum(axis=-1)
    out = (1 + below + (equal - 1) / 2).astype(np.float64)
    return out


def _ranks_sorted(k: FloatArray, ties: Ties) -> FloatArray:
    """The same ranks from one sort per row, O(n log n): runs of equal keys share a rank."""
    n = k.shape[-1]
    # Equal keys form runs in the sorted row, and every member of a run gets the
    # run's first (or mean) 1-based sorted position.
    # Order within a run does not matter, so an unstable sort will do; a contiguous
    # team axis (callers pass transposed views) makes the gathers cheaper.
    k = np.ascontiguousarray(k)
    order = np.argsort(k, axis=-1)
    sorted_keys = np.take_along_axis(k, order, axis=-1)
    new_run = np.empty(k.shape, dtype=bool)
    new_run[..., 0] = True
    np.not_equal(sorted_keys[..., 1:], sorted_keys[..., :-1], out=new_run[..., 1:])
    position = np.arange(1, n + 1, dtype=np.intp)
    first = new_run * position  # the position at a run start, 0 elsewhere
    np.maximum.accumulate(first, axis=-1, out=first)
    sorted_ranks: npt.NDArray[Any]
    if ties == "min":
        sorted_ranks = first
    else:
        run_end = np.empty(k.shape, dtype=bool)
        run_end[..., -1] = True
        run_end[..., :-1] = new_run[..., 1:]
        # The last position of each run, carried backwards from the run's end.
        last = np.where(run_end, position, n)[..., ::-1]
        np.minimum.accumulate(last, axis=-1, out=last)
        # Integers and their halves are exact: this is "1 + below + (equal - 1) / 2".
        sorted_ranks = (first + last[..., ::-1]) / 2
    out: FloatArray = np.empty(k.shape, dtype=np.float64)
    np.put_along_axis(out, order, sorted_ranks, axis=-1)
    return out


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
    ranking is constant or holds a NaN (infinities are ordinary values, tied
    with themselves). Beyond :data:`PAIRWISE_MAX_TEAMS` it counts pairs by
    sorting (Knight's algorithm), O(n log n) per ranking.

    Raises
    ------
    ValueError
        If the broadcast inputs are scalars.

    Examples
    --------
    >>> float(kendall_tau([1, 2, 3, 4], [1, 2, 3, 4]))
    1.0
    >>> kendall_tau([[1, 2, 3], [3, 2, 1]], [1, 2, 3]).tolist()
    [1.0, -1.0]
    """
    a, b = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    if a.ndim == 0:
        raise ValueError("kendall_tau needs rankings along an axis, not scalars")
    shape, n = a.shape[:-1], a.shape[-1]
    if n == 0:
        return np.full(shape, np.nan)
    a2, b2 = a.reshape(-1, n), b.reshape(-1, n)
    undefined = np.isnan(a2).any(axis=-1) | np.isnan(b2).any(axis=-1)
    # A NaN makes its row NaN (as pairwise signs and scipy do); zero it so it sorts.
    a2 = np.where(undefined[:, None], 0.0, a2)
    b2 = np.where(undefined[:, None], 0.0, b2)
    counts = _tau_counts_pairwise if n <= PAIRWISE_MAX_TEAMS else _tau_counts_sorted
    con_minus_dis, pairs_x, pairs_y = counts(a2, b2)
    # Integer counts, so the quotient is the same float whichever way they were counted.
    den = np.sqrt((pairs_x * pairs_y).astype(np.float64))
    defined = (den > 0) & ~undefined
    with np.errstate(invalid="ignore", divide="ignore"):
        tau = np.where(defined, con_minus_dis / np.where(den > 0, den, 1.0), np.nan)
    out: FloatArray = tau.reshape(shape)
    return out


def _tau_counts_pairwise(a: FloatArray, b: FloatArray) -> tuple[IntArray, IntArray, IntArray]:
    """Concordant minus discordant pairs, and pairs untied in x and in y; O(n²) per row."""
    da = (a[:, :, None] > a[:, None, :]).astype(np.int8) - (a[:, :, None] < a[:, None, :])
    db = (b[:, :, None] > b[:, None, :]).astype(np.int8) - (b[:, :, None] < b[:, None, :])
    # Each unordered pair appears twice in the full matrices.
    con_minus_dis = (da * db).sum(axis=(-2, -1), dtype=np.int64) // 2
    pairs_x = (da != 0).sum(axis=(-2, -1), dtype=np.int64) // 2
    pairs_y = (db != 0).sum(axis=(-2, -1), dtype=np.int64) // 2
    return con_minus_dis, pairs_x, pairs_y


def _tau_counts_sorted(a: FloatArray, b: FloatArray) -> tuple[IntArray, IntArray, IntArray]:
    """The same counts by sorting (Knight's algorithm), O(n log n) per row."""
    n = a.shape[-1]
    # Sorted by (x, y), every discordant pair is an inversion of y.
    order = np.lexsort((b, a), axis=-1)
    xs = np.take_along_axis(a, order, axis=-1)
    ys = np.take_along_axis(b, order, axis=-1)
    y_sorted = np.sort(b, axis=-1)
    x_ties = _tied_pairs(_run_starts(xs))
    joint_ties = _tied_pairs(_run_starts(xs, ys))
    y_ties = _tied_pairs(_run_starts(y_sorted))
    discordant = _inversions(_ranks_sorted(ys, "min").astype(np.int64))
    total = n * (n - 1) // 2
    con_minus_dis = total - x_ties - y_ties + joint_ties - 2 * discordant
    return con_minus_dis, total - x_ties, total - y_ties


def _run_starts(*sorted_rows: FloatArray) -> npt.NDArray[np.bool_]:
    """True where a run of equal entries (equal in every array) starts, along the last axis."""
    new_run = np.zeros(sorted_rows[0].shape, dtype=bool)
    new_run[..., 0] = True
    for s in sorted_rows:
        new_run[..., 1:] |= s[..., 1:] != s[..., :-1]
    return new_run


def _tied_pairs(new_run: npt.NDArray[np.bool_]) -> IntArray:
    """Tied pairs per row, sum of t(t-1)/2: each entry pairs with those before it in its run."""
    index = np.arange(new_run.shape[-1], dtype=np.int64)
    first = np.maximum.accumulate(np.where(new_run, index, 0), axis=-1)
    pairs: IntArray = (index - first).sum(axis=-1)
    return pairs


def _inversions(ranks: IntArray) -> IntArray:
    """Pairs ``i < j`` with ``ranks[i] > ranks[j]`` in each row of a ``(rows, n)`` array.

    Bottom-up merge sort, every row and block at once: at width ``w`` each right
    block is merged with its left neighbour, and a right entry that lands at
    merged position ``p`` as the ``k``-th of its block has ``w - (p - k)`` left
    entries above it. Left entries are tagged even, right odd, so equal ranks
    put the left entry first and do not count.
    """
    rows, n = ranks.shape
    width = 1 << (n - 1).bit_length()
    # Padding sorts last and sits last, so it is never above anything to its right.
    # Ranks are at most n: narrow integers halve the memory each sort moves.
    dtype = np.int32 if 2 * n + 3 < np.iinfo(np.int32).max else np.int64
    values = np.full((rows, width), n + 1, dtype=dtype)
    values[:, :n] = ranks
    total = np.zeros(rows, dtype=np.int64)
    w = 1
    while w < width:
        pairs = width // (2 * w)
        tagged = values.reshape(rows, pairs, 2, w) * 2
        tagged[:, :, 1, :] += 1
        # Equal tagged values are identical integers, so any sort algorithm will do.
        merged = np.sort(tagged.reshape(rows, pairs, 2 * w), axis=-1)
        right_positions = ((merged & 1) * np.arange(2 * w)).sum(axis=(-2, -1))
        total += pairs * (w * w + w * (w - 1) // 2) - right_positions
        values = (merged >> 1).reshape(rows, width)
        w *= 2
    return total


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
