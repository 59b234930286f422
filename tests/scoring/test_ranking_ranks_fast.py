"""The sort-based ranks and Kendall's tau equal their pairwise definitions exactly.

``rank_keys``, ``positions`` and ``kendall_tau`` sort along the team axis
(O(teams·log teams)) beyond a few dozen teams and compare pairs below that; the
``path`` fixture forces either way for every size. The references below are the
plain O(teams²) pairwise definitions, and every comparison is exact equality.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from scipy.stats import kendalltau

from scoring.ranking import kendall_tau, positions, rank_keys, ranks
from scoring.ranking.ranks import MEAN_RANK_TOLERANCE

FloatArray = npt.NDArray[np.float64]


@pytest.fixture(params=["auto", "sorted", "pairwise"], autouse=True)
def path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run each test with the size-chosen path, then forcing each path for every size."""
    limit = {"auto": None, "sorted": 0, "pairwise": 10**9}[request.param]
    if limit is not None:
        monkeypatch.setattr(ranks, "PAIRWISE_MAX_TEAMS", limit)
    return str(request.param)


def reference_ranks(keys: FloatArray, ties: str) -> FloatArray:
    """Rank = 1 + entries strictly better; "average" adds half the other tied entries."""
    below = (keys[..., None, :] < keys[..., :, None]).sum(axis=-1)
    out: FloatArray
    if ties == "min":
        out = (1 + below).astype(np.float64)
        return out
    equal = (keys[..., None, :] == keys[..., :, None]).sum(axis=-1)
    out = (1 + below + (equal - 1) / 2).astype(np.float64)
    return out


def reference_tau(x: npt.ArrayLike, y: npt.ArrayLike) -> FloatArray:
    """Tau-b from the signs of every pair of differences."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    da = np.sign(a[..., :, None] - a[..., None, :])
    db = np.sign(b[..., :, None] - b[..., None, :])
    concordant = (da * db).sum(axis=(-2, -1))
    den = np.sqrt((da != 0).sum(axis=(-2, -1)) * (db != 0).sum(axis=(-2, -1)).astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(den > 0, concordant / np.where(den > 0, den, 1.0), np.nan)
    return out


def tied_keys(rng: np.random.Generator, shape: tuple[int, ...], distinct: int) -> FloatArray:
    """Keys drawn from ``distinct`` values, so small ``distinct`` means long tie runs."""
    values = np.concatenate([[-np.inf, -0.0, 0.0, np.inf], rng.normal(size=distinct)])
    return rng.choice(values[: max(distinct, 1)], size=shape)


SHAPES = [(1,), (2,), (7,), (50,), (3, 9), (4, 2, 13), (1000, 5), (2, 3, 4, 6)]


@pytest.mark.parametrize("ties", ["min", "average"])
@pytest.mark.parametrize("shape", SHAPES)
def test_rank_keys_equals_the_pairwise_definition(shape: tuple[int, ...], ties: str) -> None:
    rng = np.random.default_rng(len(shape) * 100 + shape[-1])
    for distinct in (1, 2, 3, 6, 1000):
        keys = tied_keys(rng, shape, distinct)
        # Both directions: a higher-is-better metric is ranked on its negated values.
        for k in (keys, -keys):
            got = rank_keys(k, ties=ties)  # type: ignore[arg-type]
            assert got.dtype == np.float64
            assert got.shape == k.shape
            np.testing.assert_array_equal(got, reference_ranks(k, ties))


@pytest.mark.parametrize("ties", ["min", "average"])
def test_rank_keys_on_any_axis_via_moveaxis(ties: str) -> None:
    rng = np.random.default_rng(11)
    keys = tied_keys(rng, (5, 8, 6), 4)
    for axis in range(keys.ndim):
        moved = np.moveaxis(keys, axis, -1)  # a non-contiguous view, as cases.py passes
        got = np.moveaxis(rank_keys(moved, ties=ties), -1, axis)  # type: ignore[arg-type]
        want = np.moveaxis(reference_ranks(moved, ties), -1, axis)
        np.testing.assert_array_equal(got, want)


def test_rank_keys_accepts_integers_and_lists() -> None:
    keys = np.random.default_rng(2).integers(-3, 3, size=(20, 11))
    np.testing.assert_array_equal(rank_keys(keys), reference_ranks(keys.astype(float), "min"))
    assert rank_keys([[2, 1, 2]], ties="average").tolist() == [[2.5, 1.0, 2.5]]


def test_rank_keys_refuses_nan_anywhere_and_scalars() -> None:
    keys = tied_keys(np.random.default_rng(5), (30, 9), 3)
    keys[17, 4] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        rank_keys(keys)
    with pytest.raises(ValueError, match="NaN"):
        rank_keys(keys, ties="average")
    with pytest.raises(ValueError, match="ties"):
        rank_keys([1.0, 2.0], ties="dense")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scalar"):
        rank_keys(1.0)


def test_rank_keys_of_no_competitors_is_empty() -> None:
    assert rank_keys(np.zeros((3, 0))).shape == (3, 0)


def test_positions_equal_the_pairwise_rank_of_rounded_means() -> None:
    rng = np.random.default_rng(9)
    # Mean ranks over 17 metrics with float noise that must not split ties.
    means = rng.integers(17, 17 * 12, size=(400, 12)) / 17
    noisy = means + rng.choice([0.0, 1e-13, -1e-13], size=means.shape)
    want = reference_ranks(np.round(noisy / MEAN_RANK_TOLERANCE) * MEAN_RANK_TOLERANCE, "min")
    np.testing.assert_array_equal(positions(noisy), want)
    np.testing.assert_array_equal(positions(noisy), positions(means))


@pytest.mark.parametrize("teams", [2, 3, 4, 7, 8, 9, 16, 17, 33, 50])
def test_kendall_tau_equals_the_pairwise_definition_and_scipy(teams: int) -> None:
    rng = np.random.default_rng(teams)
    for distinct in (2, 4, 100):
        point = rng.integers(0, distinct, size=teams).astype(float)
        samples = rng.integers(0, distinct, size=(60, teams)).astype(float)
        got = kendall_tau(samples, point)
        np.testing.assert_array_equal(got, reference_tau(samples, point))
        np.testing.assert_array_equal(kendall_tau(point, samples), got)
        want = [kendalltau(s, point).statistic for s in samples]
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_kendall_tau_broadcasts_and_propagates_nan() -> None:
    rng = np.random.default_rng(4)
    x = rng.integers(0, 3, size=(4, 1, 10)).astype(float)
    y = rng.integers(0, 3, size=(5, 10)).astype(float)
    x[2, 0, 3] = np.nan
    got = kendall_tau(x, y)
    assert got.shape == (4, 5)
    np.testing.assert_array_equal(got, reference_tau(x, y))
    assert np.isnan(got[2]).all()
    assert not np.isnan(got[[0, 1, 3]]).any()


def test_kendall_tau_undefined_for_constant_or_empty_rankings() -> None:
    assert np.isnan(kendall_tau([2, 2, 2], [1, 2, 3]))
    assert np.isnan(kendall_tau([1.0], [1.0]))
    assert kendall_tau(np.zeros((3, 0)), np.zeros(0)).shape == (3,)
    assert float(kendall_tau([1, 2, 3, 4], [4, 3, 2, 1])) == -1.0


def test_kendall_tau_treats_equal_infinities_as_ties_like_scipy() -> None:
    rng = np.random.default_rng(8)
    for teams in (6, 40):
        pool = np.array([-np.inf, 0.0, 1.0, np.inf])
        x = rng.choice(pool, size=(30, teams))
        y = rng.choice(pool, size=teams)
        want = [kendalltau(row, y).statistic for row in x]
        np.testing.assert_allclose(kendall_tau(x, y), want, rtol=1e-12)
