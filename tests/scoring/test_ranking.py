"""Rank then aggregate: ties, directions, metric sets, worst values, boards.

The rules are docs/evaluation.md's "Ranking" section.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import kendalltau, rankdata

from scoring.aggregate import DATASET_METRICS, dataset_metrics
from scoring.interactive.aggregate import INTERACTIVE_METRICS
from scoring.ranking import (
    DETECTION_METRICS,
    FULL_METRICS,
    METRIC_DIRECTIONS,
    METRIC_SETS,
    WORST_VALUES,
    kendall_tau,
    leaderboard,
    positions,
    rank_keys,
    rank_metrics,
)
from scoring.results import CaseResult


def case(case_id: str, *, dice: float, tp: int = 1, fp: int = 0, fn: int = 0) -> CaseResult:
    """A paper-mode result whose every metric improves with ``dice`` and ``tp``."""
    sums = {
        "dice": dice * tp,
        "jaccard": dice / (2 - dice) * tp,
        "voe": (1 - dice / (2 - dice)) * tp,
        "rvd": (1 - dice) * tp,
        "assd": (1 - dice) * 10 * tp,
        "rmsd": (1 - dice) * 12 * tp,
        "msd": (1 - dice) * 30 * tp,
    }
    return CaseResult(
        case_id=case_id,
        mode="paper",
        intersection=round(dice * 100),
        pred_voxels=100,
        label_voxels=100,
        dice=dice,
        tp_50=tp,
        fp_50=fp,
        fn_50=fn,
        tp_0=tp,
        fp_0=fp,
        fn_0=fn,
        lesion_sums=sums,
        lesion_count=tp,
    )


# --- ranks, ties, directions -------------------------------------------------


def test_ties_share_the_lowest_rank() -> None:
    assert rank_keys([0.3, 0.1, 0.3, 0.3, 0.9]).tolist() == [2, 1, 2, 2, 5]


def test_average_ties_share_the_mean_rank() -> None:
    keys = [0.3, 0.1, 0.3, 0.3, 0.9]
    assert rank_keys(keys, ties="average").tolist() == rankdata(keys).tolist()


def test_rank_keys_ranks_along_the_last_axis_of_any_shape() -> None:
    keys = np.random.default_rng(3).integers(0, 4, size=(5, 2, 7))
    got = rank_keys(keys)
    for idx in np.ndindex(5, 2):
        assert got[idx].tolist() == rankdata(keys[idx], method="min").tolist()


def test_rank_keys_refuses_nan_and_unknown_tie_rules() -> None:
    with pytest.raises(ValueError, match="NaN"):
        rank_keys([0.1, float("nan")])
    with pytest.raises(ValueError, match="ties"):
        rank_keys([0.1], ties="dense")  # type: ignore[arg-type]


def test_metric_sets_and_directions() -> None:
    assert len(FULL_METRICS) == 11
    assert len(DETECTION_METRICS) == 6
    assert METRIC_SETS == {
        "venous": FULL_METRICS,
        "visible": FULL_METRICS,
        "combined": DETECTION_METRICS,
    }
    # The lesion-wise metrics, and the interactive phases' six curve metrics.
    assert set(DETECTION_METRICS) < set(FULL_METRICS)
    assert set(METRIC_DIRECTIONS) == {*FULL_METRICS, *INTERACTIVE_METRICS}
    higher = {m for m, d in METRIC_DIRECTIONS.items() if d == "higher"}
    assert higher == {*DETECTION_METRICS, "interactive_dsc_auc", "interactive_dsc_final"}
    assert METRIC_DIRECTIONS["lesion_rvd"] == "lower_abs"


def test_worst_values() -> None:
    assert set(WORST_VALUES) == {*DATASET_METRICS, *INTERACTIVE_METRICS}
    assert WORST_VALUES["lesion_dice_per_case"] == WORST_VALUES["lesion_dice_global"] == 0.0
    assert WORST_VALUES["lesion_precision"] == WORST_VALUES["lesion_recall_greater_zero"] == 0.0
    assert WORST_VALUES["lesion_voe"] == 1.0
    for m in ("lesion_rvd", "lesion_assd", "lesion_rmsd", "lesion_msd"):
        assert WORST_VALUES[m] == 9001.0


@pytest.mark.parametrize("metric", sorted(METRIC_DIRECTIONS))
def test_each_metric_ranks_in_its_direction(metric: str) -> None:
    table = {"low": {metric: 0.2}, "high": {metric: 0.7}}
    r = rank_metrics(table, metrics=[metric])
    best = "high" if METRIC_DIRECTIONS[metric] == "higher" else "low"
    assert r.ranks[best][metric] == 1.0
    assert r.order()[0] == best


def test_rvd_is_ranked_by_absolute_value() -> None:
    table = {
        "over": {"lesion_rvd": 0.3},
        "under": {"lesion_rvd": -0.1},
        "far_under": {"lesion_rvd": -0.5},
        "exact": {"lesion_rvd": 0.0},
        "mirror": {"lesion_rvd": 0.1},
    }
    r = rank_metrics(table, metrics=["lesion_rvd"])
    assert {t: r.ranks[t]["lesion_rvd"] for t in table} == {
        "exact": 1.0,
        "under": 2.0,
        "mirror": 2.0,
        "over": 4.0,
        "far_under": 5.0,
    }


def test_mean_rank_and_shared_positions() -> None:
    metrics = ["lesion_dice_per_case", "lesion_voe"]
    table = {
        "a": {"lesion_dice_per_case": 0.9, "lesion_voe": 0.5},  # ranks 1, 3
        "b": {"lesion_dice_per_case": 0.8, "lesion_voe": 0.1},  # ranks 2, 1
        "c": {"lesion_dice_per_case": 0.7, "lesion_voe": 0.2},  # ranks 3, 2
        "d": {"lesion_dice_per_case": 0.6, "lesion_voe": 0.9},  # ranks 4, 4
    }
    r = rank_metrics(table, metrics=metrics)
    assert r.mean_rank == {"a": 2.0, "b": 1.5, "c": 2.5, "d": 4.0}
    assert r.position == {"a": 2, "b": 1, "c": 3, "d": 4}
    tied = rank_metrics({**table, "a2": table["a"]}, metrics=metrics)
    # a, a2 and b now all average 2: one shared first place, then "4".
    assert tied.mean_rank == {"a": 2.0, "a2": 2.0, "b": 2.0, "c": 3.0, "d": 5.0}
    assert tied.position == {"a": 1, "a2": 1, "b": 1, "c": 4, "d": 5}


def test_positions_treat_float_noise_as_a_tie() -> None:
    noisy = (0.1 + 0.2) / 3 * 3  # 0.30000000000000004
    assert positions([0.3, noisy, 0.5]).tolist() == [1.0, 1.0, 3.0]


def test_rank_metrics_refuses_bad_tables() -> None:
    with pytest.raises(ValueError, match="not a ranked metric"):
        rank_metrics({"a": {"lesion_jaccard": 0.5}}, metrics=["lesion_jaccard"])
    with pytest.raises(ValueError, match="missing"):
        rank_metrics({"a": {"lesion_voe": 0.5}, "b": {}}, metrics=["lesion_voe"])
    with pytest.raises(ValueError, match="no teams"):
        rank_metrics({}, metrics=["lesion_voe"])
    with pytest.raises(ValueError, match="NaN"):
        rank_metrics({"a": {"lesion_voe": float("nan")}}, metrics=["lesion_voe"])


def test_kendall_tau_matches_scipy_with_ties() -> None:
    rng = np.random.default_rng(7)
    point = rng.integers(1, 6, size=9)
    samples = rng.integers(1, 6, size=(20, 9))
    got = kendall_tau(samples, point)
    want = [kendalltau(s, point).statistic for s in samples]
    np.testing.assert_allclose(got, want, rtol=1e-12)
    assert np.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))


# --- the board ---------------------------------------------------------------

CENTRES = {"x1": "X", "x2": "X", "y1": "Y"}


def venous(*dices: float) -> dict[str, list[CaseResult]]:
    return {"venous": [case(c, dice=d) for c, d in zip(CENTRES, dices, strict=True)]}


def test_team_missing_a_centre_gets_worst_values_there() -> None:
    subs = {
        "a": venous(0.9, 0.9, 0.9),
        "b": {"venous": [case("x1", dice=0.5), case("x2", dice=0.5)]},
    }
    board = leaderboard(subs, centres=CENTRES, paradigms=["venous"], teams=["a", "b", "ghost"])
    y = board.centres["Y"].paradigms["venous"]
    assert y.values["b"] == {m: WORST_VALUES[m] for m in FULL_METRICS}
    assert y.values["ghost"] == y.values["b"]
    assert y.mean_rank["b"] == y.mean_rank["ghost"] == 2.0
    assert board.centres["X"].paradigms["venous"].values["ghost"]["lesion_voe"] == 1.0
    assert board.missing == {"a": [], "b": ["Y/venous"], "ghost": ["X/venous", "Y/venous"]}
    assert board.order() == ["a", "b", "ghost"]
    # ghost is last on every metric of X (3) and tied last with b on Y (2).
    assert board.score["a"] == 1.0
    assert board.score["b"] < board.score["ghost"] == 2.5


def test_a_team_that_finds_nothing_ties_with_a_missing_one() -> None:
    zero = {"venous": [case(c, dice=0.0, tp=0, fn=1, fp=3) for c in CENTRES]}
    some = {"venous": [case(c, dice=0.05, tp=1, fn=1, fp=3) for c in CENTRES]}
    teams = ["ghost", "zero", "some"]
    board = leaderboard(
        {"zero": zero, "some": some}, centres=CENTRES, paradigms=["venous"], teams=teams
    )
    # Every metric of "zero" is already its worst value: nothing separates it from no submission.
    assert board.centres["X"].paradigms["venous"].values["zero"] == {
        m: WORST_VALUES[m] for m in FULL_METRICS
    }
    assert board.position == {"some": 1, "zero": 2, "ghost": 2}


def test_overall_is_the_mean_of_the_centre_scores() -> None:
    subs = {"a": venous(0.9, 0.9, 0.2), "b": venous(0.5, 0.5, 0.8), "c": venous(0.7, 0.1, 0.5)}
    board = leaderboard(subs, centres=CENTRES, paradigms=["venous"])
    for team in subs:
        centre_scores = [board.centres[c].score[team] for c in ("X", "Y")]
        assert board.score[team] == pytest.approx(np.mean(centre_scores))
    assert board.centres["Y"].position == {"a": 3, "b": 1, "c": 2}


def test_task2_score_is_the_mean_of_visible_and_combined() -> None:
    centres = {"x1": "X"}
    subs = {
        # a wins visible, loses combined (on the detection metrics) and vice versa
        "a": {"visible": [case("x1", dice=0.9)], "combined": [case("x1", dice=0.4, fn=2)]},
        "b": {"visible": [case("x1", dice=0.6)], "combined": [case("x1", dice=0.5)]},
    }
    board = leaderboard(subs, centres=centres, paradigms=["visible", "combined"])
    x = board.centres["X"]
    assert x.paradigms["visible"].metrics == FULL_METRICS
    assert x.paradigms["combined"].metrics == DETECTION_METRICS
    for team in subs:
        want = (
            x.paradigms["visible"].mean_rank[team] + x.paradigms["combined"].mean_rank[team]
        ) / 2
        assert x.score[team] == pytest.approx(want)
    assert x.paradigms["visible"].mean_rank["a"] == 1.0
    assert x.paradigms["visible"].mean_rank["b"] > 1.0
    assert x.paradigms["combined"].mean_rank["a"] > 1.0
    assert x.paradigms["combined"].mean_rank["b"] == 1.0


def test_excluding_affiliated_teams_recomputes_ranks() -> None:
    subs = {"org": venous(0.95, 0.95, 0.95), "a": venous(0.8, 0.8, 0.8), "b": venous(0.5, 0.5, 0.5)}
    everyone = leaderboard(subs, centres=CENTRES, paradigms=["venous"])
    public = leaderboard(subs, centres=CENTRES, paradigms=["venous"], teams=["a", "b"])
    assert everyone.position == {"org": 1, "a": 2, "b": 3}
    assert public.position == {"a": 1, "b": 2}
    assert "org" not in public.to_dict()["centres"]["X"]["paradigms"]["venous"]["ranks"]
    assert public.centres["X"].paradigms["venous"].ranks["a"]["lesion_voe"] == 1.0


def test_board_values_are_the_dataset_metrics() -> None:
    subs = {"a": venous(0.9, 0.3, 0.7), "b": venous(0.5, 0.6, 0.8)}
    subs["a"]["venous"][1] = case("x2", dice=0.3, tp=2, fp=1, fn=3)
    board = leaderboard(subs, centres=CENTRES, paradigms=["venous"])
    for team, per_paradigm in subs.items():
        results = per_paradigm["venous"]
        x = dataset_metrics([r for r in results if CENTRES[r.case_id] == "X"], mode="paper")
        pooled = dataset_metrics(results, mode="paper")
        for m in FULL_METRICS:
            assert board.centres["X"].paradigms["venous"].values[team][m] == pytest.approx(x[m])
            assert board.pooled["venous"].values[team][m] == pytest.approx(pooled[m])


def test_per_case_aggregation_ranks_each_case_then_averages() -> None:
    centres = {"x1": "X", "x2": "X", "x3": "X"}
    # a is far better on one case, b slightly better on two: dataset metrics
    # favour a, per-case ranks favour b.
    subs = {
        "a": {"venous": [case("x1", dice=0.99), case("x2", dice=0.5), case("x3", dice=0.5)]},
        "b": {"venous": [case("x1", dice=0.1), case("x2", dice=0.55), case("x3", dice=0.55)]},
    }
    metrics = {"venous": ("lesion_dice_per_case",)}
    dataset = leaderboard(subs, centres=centres, paradigms=["venous"], metric_sets=metrics)
    per_case = leaderboard(
        subs, centres=centres, paradigms=["venous"], metric_sets=metrics, aggregation="per_case"
    )
    assert dataset.order() == ["a", "b"]
    assert per_case.order() == ["b", "a"]
    ranks = per_case.centres["X"].paradigms["venous"].ranks
    assert ranks["a"]["lesion_dice_per_case"] == pytest.approx(5 / 3)
    assert ranks["b"]["lesion_dice_per_case"] == pytest.approx(4 / 3)


def test_board_is_json_serialisable() -> None:
    subs = {"a": venous(0.9, 0.3, 0.7), "b": venous(0.5, 0.6, 0.8)}
    board = leaderboard(subs, centres=CENTRES, paradigms=["venous"])
    data = json.loads(json.dumps(board.to_dict()))
    assert data["position"] == board.position
    assert data["centres"]["Y"]["case_ids"] == ["y1"]


@pytest.mark.parametrize(
    ("subs", "message"),
    [
        ({"a": {"venous": [case("x1", dice=0.5)]}}, "1 of 2 cases"),
        ({"a": {"venous": [case("z9", dice=0.5)]}}, "not a test case"),
        ({"a": {"venous": [case("y1", dice=0.5), case("y1", dice=0.4)]}}, "twice"),
        ({"a": {"venous": [CaseResult(case_id="y1", mode="reference")]}}, "reference"),
    ],
)
def test_bad_inputs_are_refused_clearly(
    subs: dict[str, dict[str, list[CaseResult]]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        leaderboard(subs, centres=CENTRES, paradigms=["venous"])


def test_unknown_paradigm_and_empty_inputs_are_refused() -> None:
    with pytest.raises(ValueError, match="no metric set"):
        leaderboard({"a": venous(0.5, 0.5, 0.5)}, centres=CENTRES, paradigms=["arterial"])
    with pytest.raises(ValueError, match="no team"):
        leaderboard({}, centres=CENTRES, paradigms=["venous"])
    with pytest.raises(ValueError, match="no test cases"):
        leaderboard({"a": {}}, centres={}, paradigms=["venous"])
