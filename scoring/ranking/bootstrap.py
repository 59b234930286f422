"""Ranking stability: bootstrap the test cases, re-rank, summarise the rank spread.

docs/evaluation.md, "Ranking stability": B resamples of the test cases with
replacement, stratified by centre (each centre keeps its case count), seeded;
every dataset metric recomputed from the stored per-case quantities, teams
re-ranked exactly as on the board. One resample of indices is shared by all
teams and paradigms (a case is drawn for everyone), and all samples and teams
are scored at once (:func:`scoring.ranking.cases.evaluate`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring.ranking.cases import Aggregation, CaseTable, Submissions, evaluate, prepare
from scoring.ranking.metrics import FloatArray
from scoring.ranking.ranks import Ties, kendall_tau, positions
from scoring.results import Mode

IntArray = npt.NDArray[np.int64]


def stratified_resample(
    strata: Sequence[str], *, samples: int, rng: np.random.Generator
) -> IntArray:
    """Indices of ``samples`` resamples with replacement, each stratum drawn within itself.

    Parameters
    ----------
    strata
        The stratum (centre) of each case.
    samples
        How many resamples.
    rng
        The random source (seed it for reproducible draws).

    Returns
    -------
    numpy.ndarray
        ``(samples, len(strata))`` indices into ``strata``; column ``j`` is
        always a case of the same stratum as case ``j``, so every resample keeps
        each stratum's case count.

    Examples
    --------
    >>> idx = stratified_resample(["A", "A", "B"], samples=4, rng=np.random.default_rng(0))
    >>> idx.shape, bool((idx[:, 2] == 2).all())
    ((4, 3), True)
    """
    if samples < 1:
        raise ValueError(f"samples must be at least 1, not {samples}")
    labels = np.asarray(strata)
    out = np.empty((samples, len(labels)), dtype=np.int64)
    for s in dict.fromkeys(strata):
        members = np.flatnonzero(labels == s)
        out[:, members] = members[rng.integers(0, len(members), size=(samples, len(members)))]
    return out


def draw_counts(indices: IntArray, n: int) -> FloatArray:
    """How often each of ``n`` cases is drawn in each resample, ``(samples, n)``.

    Examples
    --------
    >>> draw_counts(np.array([[0, 0, 2]]), 3).tolist()
    [[2.0, 0.0, 1.0]]
    """
    b = indices.shape[0]
    flat = (np.arange(b)[:, None] * n + indices).ravel()
    return np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


def bootstrap_weights(table: CaseTable, *, samples: int, seed: int) -> dict[str, FloatArray]:
    """Draw counts of each centre's cases in ``samples`` stratified resamples.

    One draw of indices over all cases (each centre within itself), from a
    generator seeded with ``seed``: every figure computed from these weights
    (rank stability, metric intervals) uses the same resamples.

    Returns
    -------
    dict of str to numpy.ndarray
        ``weights[centre]``: ``(samples, cases of the centre)``.
    """
    rng = np.random.default_rng(seed)
    strata = [c for c in table.centres for _ in table.case_ids[c]]
    idx = stratified_resample(strata, samples=samples, rng=rng)
    counts = draw_counts(idx, len(strata))
    weights: dict[str, FloatArray] = {}
    start = 0
    for c in table.centres:
        n = len(table.case_ids[c])
        weights[c] = counts[:, start : start + n]
        start += n
    return weights


def summarise(teams: Sequence[str], point: FloatArray, scores: FloatArray) -> RankingStability:
    """Rank distributions of ``teams`` from board scores ``point`` and sample ``scores``."""
    return _summarise(teams, point, scores)


@dataclass(frozen=True, slots=True)
class TeamStability:
    """One team's rank across bootstrap samples.

    Attributes
    ----------
    point_position
        Its place on the board itself.
    rank_shares
        Share of samples at each position, index 0 = position 1.
    median
        Median position.
    interval
        95% percentile interval of the position (2.5th percentile rounded
        down, 97.5th rounded up to a position).
    share_first
        Share of samples in which it is first (ties included).
    """

    point_position: int
    rank_shares: list[float]
    median: float
    interval: tuple[int, int]
    share_first: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "point_position": self.point_position,
            "rank_shares": self.rank_shares,
            "median": self.median,
            "interval": list(self.interval),
            "share_first": self.share_first,
        }


@dataclass(frozen=True, slots=True)
class RankingStability:
    """Stability of one ranking (a centre's or the overall one).

    Attributes
    ----------
    teams
        ``teams[team]``: its rank distribution.
    kendall_tau_mean, kendall_tau_median
        Kendall's tau-b (ties allowed) between each sample's ranking and the
        point ranking, over the samples where it is defined; None when it is
        defined for none (every team tied on the board).
    kendall_tau_samples
        How many samples the tau figures are over: tau-b is undefined for a
        sample in which every team ties (or when the board itself is one tie).
    """

    teams: dict[str, TeamStability]
    kendall_tau_mean: float | None
    kendall_tau_median: float | None
    kendall_tau_samples: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "teams": {t: s.to_dict() for t, s in self.teams.items()},
            "kendall_tau_mean": self.kendall_tau_mean,
            "kendall_tau_median": self.kendall_tau_median,
            "kendall_tau_samples": self.kendall_tau_samples,
        }


@dataclass(frozen=True, slots=True)
class Stability:
    """Bootstrap ranking stability of a phase.

    Attributes
    ----------
    samples, seed
        How many resamples, from which seed.
    cases_per_centre
        Each centre's case count, kept in every resample.
    overall
        Stability of the final (mean over centres) ranking.
    centres
        ``centres[centre]``: stability of that centre's ranking.
    """

    samples: int
    seed: int
    cases_per_centre: dict[str, int]
    overall: RankingStability
    centres: dict[str, RankingStability]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "samples": self.samples,
            "seed": self.seed,
            "cases_per_centre": self.cases_per_centre,
            "overall": self.overall.to_dict(),
            "centres": {c: s.to_dict() for c, s in self.centres.items()},
        }


def _summarise(teams: Sequence[str], point: FloatArray, scores: FloatArray) -> RankingStability:
    """``point``: (teams,) board scores; ``scores``: (samples, teams)."""
    n = len(teams)
    point_pos = positions(point)
    pos = positions(scores).astype(np.int64)  # (samples, teams)
    # One pass over (team, position) pairs instead of one comparison pass per position.
    pairs = np.arange(n) * n + (pos - 1)
    shares = np.bincount(pairs.ravel(), minlength=n * n).reshape(n, n) / pos.shape[0]
    median = np.median(pos, axis=0)
    low = np.percentile(pos, 2.5, axis=0, method="lower")
    high = np.percentile(pos, 97.5, axis=0, method="higher")
    tau = kendall_tau(scores, point)
    defined = tau[~np.isnan(tau)]
    return RankingStability(
        teams={
            t: TeamStability(
                point_position=int(point_pos[i]),
                rank_shares=[float(x) for x in shares[i]],
                median=float(median[i]),
                interval=(int(low[i]), int(high[i])),
                share_first=float(shares[i, 0]),
            )
            for i, t in enumerate(teams)
        },
        kendall_tau_mean=float(defined.mean()) if defined.size else None,
        kendall_tau_median=float(np.median(defined)) if defined.size else None,
        kendall_tau_samples=int(defined.size),
    )


def bootstrap_stability(
    submissions: Submissions,
    *,
    centres: Mapping[str, str],
    paradigms: Sequence[str],
    teams: Sequence[str] | None = None,
    samples: int = 1000,
    seed: int = 0,
    mode: Mode = "paper",
    ties: Ties = "min",
    aggregation: Aggregation = "dataset",
    metric_sets: Mapping[str, Sequence[str]] | None = None,
) -> Stability:
    """Rank distribution of every team over stratified bootstrap resamples.

    Parameters
    ----------
    submissions, centres, paradigms, teams, mode, ties, aggregation, metric_sets
        As for :func:`scoring.ranking.leaderboard.leaderboard`; the board they
        define is the point ranking.
    samples
        Number of resamples B (docs/evaluation.md: 1,000).
    seed
        Seed of the :class:`numpy.random.Generator`; same inputs and seed,
        same figures.

    Returns
    -------
    Stability

    Examples
    --------
    >>> from scoring.results import CaseResult
    >>> def res(case, dice):
    ...     return CaseResult(case_id=case, mode="paper", dice=dice, intersection=int(dice * 10),
    ...                       pred_voxels=10, label_voxels=10, tp_50=1, tp_0=1, lesion_count=1)
    >>> subs = {"a": {"venous": [res("x1", 0.9), res("x2", 0.8)]},
    ...         "b": {"venous": [res("x1", 0.5), res("x2", 0.4)]}}
    >>> st = bootstrap_stability(subs, centres={"x1": "X", "x2": "X"}, paradigms=["venous"],
    ...                          samples=50, seed=1)
    >>> st.overall.teams["a"].share_first, st.overall.kendall_tau_mean
    (1.0, 1.0)
    """
    table = prepare(
        submissions,
        centres=centres,
        paradigms=paradigms,
        teams=teams,
        mode=mode,
        metric_sets=metric_sets,
    )
    weights = bootstrap_weights(table, samples=samples, seed=seed)
    ones = {c: np.ones((1, len(ids))) for c, ids in table.case_ids.items()}
    point = evaluate(table, ones, ties=ties, aggregation=aggregation)
    boot = evaluate(table, weights, ties=ties, aggregation=aggregation)
    return Stability(
        samples=samples,
        seed=seed,
        cases_per_centre={c: len(ids) for c, ids in table.case_ids.items()},
        overall=_summarise(table.teams, point.overall[0], boot.overall),
        centres={
            c: _summarise(table.teams, point.centre_scores[c][0], boot.centre_scores[c])
            for c in table.centres
        },
    )
