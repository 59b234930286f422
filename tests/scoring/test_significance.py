"""Significance maps and centre comparisons, checked against published values and a brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from scoring.ranking.significance import compare_centres, holm, significance_map, wilcoxon_better

# R's ?wilcox.test example (Hollander & Wolfe 1973, depression scale): wilcox.test(x, y,
# paired = TRUE, alternative = "greater") prints V = 40, p-value = 0.01953.
HW_X = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
HW_Y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]


def _exact_signed_rank_less(d: np.ndarray) -> float:
    """P(W+ <= observed) by enumerating every sign assignment (no ties, no zeros)."""
    d = d[d != 0]
    ranks = stats.rankdata(np.abs(d))
    observed = ranks[d > 0].sum()
    total = 0
    hits = 0
    for signs in itertools.product((0, 1), repeat=d.size):
        total += 1
        hits += ranks[np.asarray(signs, dtype=bool)].sum() <= observed
    return hits / total


def test_wilcoxon_matches_rs_published_example() -> None:
    # Keys are "lower is better": x better than y where x is larger, so use -x, -y.
    p = wilcoxon_better(-np.array([HW_X, HW_Y]))
    assert p[0, 1] == pytest.approx(0.01953, abs=5e-6)


def test_wilcoxon_matches_a_brute_force_exact_distribution() -> None:
    rng = np.random.default_rng(4)
    for _ in range(10):
        keys = rng.normal(size=(3, 9))
        p = wilcoxon_better(keys)
        for i, j in itertools.permutations(range(3), 2):
            assert p[i, j] == pytest.approx(_exact_signed_rank_less(keys[i] - keys[j]), abs=1e-12)
        assert np.isnan(np.diag(p)).all()


def test_identical_entries_are_never_significant() -> None:
    keys = np.array([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]])
    assert wilcoxon_better(keys)[0, 1] == 1.0
    m = significance_map(["a", "b"], keys)
    assert m.significant == [[False, False], [False, False]]


def test_holm_matches_rs_p_adjust() -> None:
    # p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm") = 0.05 0.08 0.09 0.09 0.09
    assert holm([0.01, 0.02, 0.03, 0.04, 0.05]).tolist() == pytest.approx(
        [0.05, 0.08, 0.09, 0.09, 0.09]
    )
    # p.adjust(c(0.04, 0.001, 0.3, 0.02), "holm") = 0.08 0.004 0.3 0.06 (order kept)
    assert holm([0.04, 0.001, 0.3, 0.02]).tolist() == pytest.approx([0.08, 0.004, 0.3, 0.06])
    p = holm(np.array([[np.nan, 0.01], [0.5, np.nan]]))
    assert np.isnan(p[0, 0])
    assert p[0, 1] == pytest.approx(0.02)
    assert p[1, 0] == 0.5


def test_holm_equals_its_definition_on_random_families() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        p = rng.uniform(0, 0.2, size=int(rng.integers(1, 12)))
        m = p.size
        order = np.argsort(p)
        expected = np.empty(m)
        running = 0.0
        for k, i in enumerate(order):
            running = max(running, min(1.0, (m - k) * p[i]))
            expected[i] = running
        assert holm(p).tolist() == pytest.approx(expected.tolist())


def test_map_orders_clear_differences_and_adjusts_over_all_pairs() -> None:
    rng = np.random.default_rng(1)
    base = rng.uniform(0.4, 0.6, size=30)
    dice = np.array([base + 0.3, base + 0.15, base, base + 0.001 * rng.normal(size=30)])
    m = significance_map(["best", "good", "plain", "plain2"], -dice)
    assert m.cases == 30
    assert m.significant == [
        [False, True, True, True],
        [False, False, True, True],
        [False, False, False, False],
        [False, False, False, False],
    ]
    raw = wilcoxon_better(-dice)
    assert m.p_adjusted[0][1] == pytest.approx(min(1.0, holm(raw)[0, 1]))
    assert m.p_adjusted[0][1] >= raw[0, 1]
    assert m.to_dict()["entries"] == ["best", "good", "plain", "plain2"]


# The TriALS paper's team-level centre comparisons (Table 2, from the per-centre team tables
# that follow it): two-sided Mann-Whitney p-values.
DICE_T1 = {
    "China": [0.721, 0.556, 0.557, 0.542, 0.376, 0.447, 0.425],
    "Egypt": [0.791, 0.608, 0.620, 0.637, 0.644, 0.543, 0.280],
    "External": [0.750, 0.665, 0.595, 0.591, 0.535, 0.535, 0.464],
}
ASSD_T1 = {
    "China": [8.05, 8.43, 8.24, 8.47, 8.80, 8.83, 8.84],
    "Egypt": [6.33, 6.69, 6.61, 7.00, 6.47, 7.44, 8.53],
    "External": [7.62, 7.83, 7.75, 7.73, 8.25, 8.43, 8.69],
}
VISIBLE_T2 = {
    "China": [0.621, 0.513, 0.488, 0.501, 0.404, 0.286],
    "Egypt": [0.552, 0.350, 0.230, 0.430, 0.374, 0.101],
    "External": [0.674, 0.537, 0.516, 0.502, 0.563, 0.352],
}
COMBINED_T2 = {
    "China": [0.586, 0.502, 0.466, 0.454, 0.368, 0.321],
    "Egypt": [0.471, 0.323, 0.204, 0.359, 0.264, 0.147],
    "External": [0.651, 0.539, 0.483, 0.477, 0.541, 0.373],
}
# C vs E, C vs X, E vs X as printed.
PUBLISHED = {
    "dice": (0.209, 0.259, 0.535),
    "assd": (0.007, 0.038, 0.017),
    "visible": (0.180, 0.240, 0.065),
    "combined": (0.065, 0.240, 0.004),
}


def test_centre_comparisons_reproduce_the_papers_table_2() -> None:
    out = compare_centres(
        {"dice": DICE_T1, "assd": ASSD_T1, "visible": VISIBLE_T2, "combined": COMBINED_T2}
    )
    assert len(out) == 12
    got = {(c.measure, c.centre_a, c.centre_b): c for c in out}
    pairs = [("China", "Egypt"), ("China", "External"), ("Egypt", "External")]
    for measure, printed in PUBLISHED.items():
        for (a, b), p in zip(pairs, printed, strict=True):
            value = got[(measure, a, b)].p
            if (measure, a, b) == ("assd", "China", "External"):
                # The one value that does not reproduce from the printed team table: 0.053
                # here (the table's ASSD values are rounded to two decimals).
                assert value == pytest.approx(0.053, abs=5e-4)
                continue
            assert value == pytest.approx(p, abs=5e-4), (measure, a, b)
    # Benjamini-Hochberg over the twelve segmentation comparisons leaves exactly the two the
    # paper marks significant after FDR correction; ASSD China/External and Egypt/External,
    # nominally significant, are not (its dagger footnote).
    significant = {(c.measure, c.centre_a, c.centre_b) for c in out if c.significant}
    assert significant == {("assd", "China", "Egypt"), ("combined", "Egypt", "External")}
    assert {(c.measure, c.centre_a, c.centre_b) for c in out if c.p < 0.05} == {
        ("assd", "China", "Egypt"),
        ("assd", "Egypt", "External"),
        ("combined", "Egypt", "External"),
    }
    first = got[("dice", "China", "Egypt")]
    assert (first.n_a, first.n_b, first.median_a) == (7, 7, 0.542)
    assert first.p_adjusted >= first.p


def test_published_p_values_adjusted_give_the_same_decision() -> None:
    # The same family, adjusted from the twelve printed p-values themselves.
    printed = [p for ps in PUBLISHED.values() for p in ps]
    adjusted = stats.false_discovery_control(printed, method="bh")
    assert [i for i, q in enumerate(adjusted) if q < 0.05] == [3, 11]  # ASSD C/E, combined E/X


def test_centre_comparisons_skip_empty_sides() -> None:
    assert compare_centres({"dice": {"A": [0.5], "B": []}}) == []


def _r_normal_approximation_less(d: np.ndarray) -> float:
    """R's wilcox.test(paired = TRUE, alternative = "less", exact = FALSE, correct = TRUE)."""
    d = d[d != 0]
    n = d.size
    r = stats.rankdata(np.abs(d))
    v = r[d > 0].sum()
    _, ties = np.unique(r, return_counts=True)
    sigma = np.sqrt(n * (n + 1) * (2 * n + 1) / 24 - (ties**3 - ties).sum() / 48)
    z = (v - n * (n + 1) / 4 + 0.5) / sigma
    return float(stats.norm.cdf(z))


def test_tied_or_zero_differences_use_rs_normal_approximation() -> None:
    rng = np.random.default_rng(9)
    for _ in range(20):
        # Rounded scores: ties and zero differences, as per-case Dice of empty cases give.
        keys = np.round(rng.uniform(0, 1, size=(3, 12)), 1)
        p = wilcoxon_better(keys)
        for i, j in itertools.permutations(range(3), 2):
            d = keys[i] - keys[j]
            if not d.any():
                assert p[i, j] == 1.0
                continue
            nz = np.abs(d[d != 0])
            if np.unique(nz).size == nz.size and nz.size == d.size:
                continue  # no tie, no zero: the exact branch, tested above
            assert p[i, j] == pytest.approx(_r_normal_approximation_less(d), abs=1e-12)
