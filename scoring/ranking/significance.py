"""Significance: pairwise Wilcoxon maps between entries, Mann–Whitney between centres.

Both follow the statistics of challenge reports: challengeR's significance map
(one-sided Wilcoxon signed-rank tests on the per-case scores of every ordered
pair of entries, Holm-adjusted over all pairs) and the TriALS paper's centre
comparisons (two-sided Mann–Whitney U tests, Benjamini–Hochberg-adjusted within
a family). The p-values are scipy's (:func:`scipy.stats.wilcoxon`,
:func:`scipy.stats.mannwhitneyu`, :func:`scipy.stats.false_discovery_control`);
only Holm's step-down adjustment, which scipy lacks, is written out here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring.ranking.metrics import FloatArray

#: Below 50 non-zero differences without ties the Wilcoxon p-value is exact (R's rule).
EXACT_WILCOXON_MAX = 49

#: Above this many pairs of values the Mann–Whitney p-value comes from the normal
#: approximation; at or below, from the exact distribution (as the paper's values do).
EXACT_MANN_WHITNEY_MAX = 2500


def holm(pvalues: npt.ArrayLike) -> FloatArray:
    """Holm's step-down adjustment of a family of p-values (R's ``p.adjust(p, "holm")``).

    NaN entries are left out of the family and stay NaN.

    Examples
    --------
    >>> holm([0.01, 0.02, 0.03, 0.04, 0.05]).round(3).tolist()
    [0.05, 0.08, 0.09, 0.09, 0.09]
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    flat = p.ravel()
    keep = np.flatnonzero(~np.isnan(flat))
    m = keep.size
    if m == 0:
        return out
    order = keep[np.argsort(flat[keep], kind="stable")]
    scaled = flat[order] * (m - np.arange(m))
    adjusted = np.minimum(np.maximum.accumulate(scaled), 1.0)
    result = out.ravel()
    result[order] = adjusted
    return result.reshape(p.shape)


@dataclass(frozen=True, slots=True)
class SignificanceMap:
    """Which entries are significantly better than which, on per-case scores.

    Attributes
    ----------
    entries
        In the order of the matrices (the board's).
    cases
        How many cases each test pairs.
    alpha
        The level the adjusted p-values are compared with.
    p_adjusted
        ``p_adjusted[i][j]``: Holm-adjusted p-value of "entry i is better than
        entry j" (one-sided Wilcoxon signed-rank); None on the diagonal.
    significant
        ``p_adjusted[i][j] < alpha``.
    """

    entries: tuple[str, ...]
    cases: int
    alpha: float
    p_adjusted: list[list[float | None]]
    significant: list[list[bool]]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "entries": list(self.entries),
            "cases": self.cases,
            "alpha": self.alpha,
            "p_adjusted": self.p_adjusted,
            "significant": self.significant,
        }


def wilcoxon_better(keys: FloatArray) -> FloatArray:
    """One-sided Wilcoxon signed-rank p-values of "row i is better than row j", unadjusted.

    Parameters
    ----------
    keys
        ``(entries, cases)`` per-case scores as "lower is better" keys.

    Returns
    -------
    numpy.ndarray
        ``(entries, entries)``; NaN on the diagonal. Pairs whose case scores
        are all equal get 1 (no evidence either way).

    Notes
    -----
    As R's ``wilcox.test(paired = TRUE)``: zero differences are dropped
    (``zero_method="wilcox"``); the p-value is exact for fewer than 50
    differences with no zero and no tie among them, otherwise it comes from the
    normal approximation with tie and continuity corrections. (scipy's own ``"auto"``
    would run a permutation test on small samples with ties, which is far
    slower and not what challenge reports use.)
    """
    from scipy import stats  # noqa: PLC0415 - a second of imports the scorer never needs

    n = keys.shape[0]
    out = np.full((n, n), np.nan)
    if n < 2 or keys.shape[1] == 0:
        return out
    i, j = np.nonzero(~np.eye(n, dtype=bool))
    diff = keys[i] - keys[j]
    nonzero = diff != 0
    counts = nonzero.sum(axis=1)
    p = np.ones(i.size)
    # Ties among the absolute differences of a row (zeros count, as in R).
    ordered = np.sort(np.abs(diff), axis=1)
    tied = (np.diff(ordered, axis=1) == 0).any(axis=1) | (counts < diff.shape[1])
    exact = (counts > 0) & ~tied & (counts <= EXACT_WILCOXON_MAX)
    approx = (counts > 0) & ~exact
    for rows, method in ((np.flatnonzero(exact), "exact"), (np.flatnonzero(approx), "asymptotic")):
        if rows.size == 0:
            continue
        with np.errstate(all="ignore"):
            res = stats.wilcoxon(
                diff[rows],
                axis=1,
                alternative="less",
                zero_method="wilcox",
                correction=True,
                method=method,
            )
        p[rows] = np.where(np.isnan(res.pvalue), 1.0, res.pvalue)
    out[i, j] = p
    return out


def significance_map(
    entries: Sequence[str], keys: npt.ArrayLike, *, alpha: float = 0.05
) -> SignificanceMap:
    """challengeR's significance map for per-case scores.

    Parameters
    ----------
    entries
        The entries, one per row of ``keys``.
    keys
        ``(entries, cases)`` per-case scores as "lower is better" keys (e.g.
        minus the per-case Dice).
    alpha
        Significance level of the Holm-adjusted p-values.

    Returns
    -------
    SignificanceMap

    Examples
    --------
    >>> k = -np.array([[0.9] * 8, [0.5] * 8]) - np.linspace(0, 0.01, 8)
    >>> m = significance_map(["a", "b"], k)
    >>> m.significant, m.p_adjusted[0][0]
    ([[False, True], [False, False]], None)
    """
    k = np.asarray(keys, dtype=np.float64)
    if k.ndim != 2 or k.shape[0] != len(entries):
        raise ValueError("keys must be (entries, cases)")
    adjusted = holm(wilcoxon_better(k))
    n = len(entries)
    return SignificanceMap(
        entries=tuple(entries),
        cases=int(k.shape[1]),
        alpha=alpha,
        p_adjusted=[
            [None if i == j else float(adjusted[i, j]) for j in range(n)] for i in range(n)
        ],
        significant=[[i != j and bool(adjusted[i, j] < alpha) for j in range(n)] for i in range(n)],
    )


@dataclass(frozen=True, slots=True)
class CentreComparison:
    """Two centres compared on one measure.

    Attributes
    ----------
    measure
        What is compared (e.g. a metric's name).
    centre_a, centre_b
        The two centres.
    n_a, n_b
        Values on each side.
    median_a, median_b
        Their medians.
    u
        Mann–Whitney U of ``centre_a``.
    p
        Two-sided p-value.
    p_adjusted
        Benjamini–Hochberg-adjusted within the family of comparisons made together.
    significant
        ``p_adjusted < alpha``.
    """

    measure: str
    centre_a: str
    centre_b: str
    n_a: int
    n_b: int
    median_a: float
    median_b: float
    u: float
    p: float
    p_adjusted: float
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "measure": self.measure,
            "centre_a": self.centre_a,
            "centre_b": self.centre_b,
            "n_a": self.n_a,
            "n_b": self.n_b,
            "median_a": self.median_a,
            "median_b": self.median_b,
            "u": self.u,
            "p": self.p,
            "p_adjusted": self.p_adjusted,
            "significant": self.significant,
        }


def compare_centres(
    values: Mapping[str, Mapping[str, Sequence[float]]], *, alpha: float = 0.05
) -> list[CentreComparison]:
    """Every pair of centres on every measure; one Benjamini–Hochberg family for all of them.

    Parameters
    ----------
    values
        ``values[measure][centre]``: the values to compare (e.g. each team's
        score on that centre, as the TriALS paper's Table 2 does).
    alpha
        The false-discovery rate.

    Returns
    -------
    list of CentreComparison
        Measures in the given order, centre pairs in the given order; pairs
        where a side has no value are left out.

    Examples
    --------
    >>> out = compare_centres({"dice": {"A": [0.9, 0.8, 0.85], "B": [0.5, 0.4, 0.45]}})
    >>> (out[0].u, round(out[0].p, 3))
    (9.0, 0.1)
    """
    from scipy import stats  # noqa: PLC0415 - a second of imports the scorer never needs

    pending: list[tuple[str, str, str, list[float], list[float], float, float]] = []
    for measure, by_centre in values.items():
        for a, b in combinations(list(by_centre), 2):
            xa = [float(v) for v in by_centre[a] if math.isfinite(v)]
            xb = [float(v) for v in by_centre[b] if math.isfinite(v)]
            if not xa or not xb:
                continue
            method = "exact" if len(xa) * len(xb) <= EXACT_MANN_WHITNEY_MAX else "asymptotic"
            res = stats.mannwhitneyu(xa, xb, alternative="two-sided", method=method)
            pending.append((measure, a, b, xa, xb, float(res.statistic), float(res.pvalue)))
    if not pending:
        return []
    adjusted = stats.false_discovery_control([p for *_, p in pending], method="bh")
    return [
        CentreComparison(
            measure=measure,
            centre_a=a,
            centre_b=b,
            n_a=len(xa),
            n_b=len(xb),
            median_a=float(np.median(xa)),
            median_b=float(np.median(xb)),
            u=u,
            p=p,
            p_adjusted=float(q),
            significant=bool(q < alpha),
        )
        for (measure, a, b, xa, xb, u, p), q in zip(pending, adjusted, strict=True)
    ]
