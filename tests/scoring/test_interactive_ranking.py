"""Interactive boards in ``scoring.ranking``: the six curve metrics ranked per centre like any.

Every figure is checked against :mod:`scoring.interactive.aggregate` (the means
of the per-case AUC and final values) or worked out by hand.
"""

from __future__ import annotations

import numpy as np
import pytest

from scoring.interactive.aggregate import INTERACTIVE_METRICS, case_quantities, metrics_from_sums
from scoring.interactive.results import LARGE, InteractiveCaseResult, StepResult
from scoring.ranking import analyse, leaderboard
from scoring.results import CaseResult

CENTRES = {"a1": "A", "a2": "A", "b1": "B", "b2": "B", "b3": "B"}
SIX = {"venous": list(INTERACTIVE_METRICS)}


def case(case_id: str, start: float, gain: float, *, clicks: int = 4) -> InteractiveCaseResult:
    """Dice rising from ``start`` by ``gain`` per click; distances falling; lesions at N."""
    steps = []
    for k in range(clicks + 1):
        dice = min(1.0, start + gain * k)
        lesions = CaseResult(
            case_id=case_id,
            mode="paper",
            dice=dice,
            intersection=round(100 * dice),
            pred_voxels=100,
            label_voxels=100,
            tp_50=1,
            tp_0=1,
            lesion_count=1,
        )
        steps.append(
            StepResult(
                clicks=k, dice=dice, assd=4 * (1 - dice), msd=9 * (1 - dice), lesions=lesions
            )
        )
    return InteractiveCaseResult.build(case_id=case_id, mode="paper", steps=steps)


def team(start: float, gain: float) -> dict[str, list[InteractiveCaseResult]]:
    return {"venous": [case(c, start + 0.01 * i, gain) for i, c in enumerate(CENTRES)]}


def test_a_board_ranks_the_curve_metrics_per_centre_with_the_aggregate_means() -> None:
    subs = {"quick": team(0.5, 0.1), "slow": team(0.5, 0.02), "flat": team(0.8, 0.0)}
    an = analyse(
        subs,
        centres=CENTRES,
        paradigms=["venous"],
        ranked=list(subs),
        metric_sets=SIX,
        samples=200,
        seed=3,
    )
    for name, results in subs.items():
        for centre in ("A", "B"):
            mine = [r for r in results["venous"] if CENTRES[r.case_id] == centre]
            expected = metrics_from_sums(case_quantities(mine, mode="paper").sum(axis=0), clicks=4)
            got = an.values["venous"][centre][name]
            for m in INTERACTIVE_METRICS:
                assert got[m] == pytest.approx(float(expected[m]), abs=1e-12), (name, m)
    # quick: DSC@AUC 0.5→0.9 (2.8) and Final 0.9; flat 3.2 and 0.8; slow 2.16 and 0.58.
    a = an.board.centres["A"].paradigms["venous"]
    assert a.ranks["flat"]["interactive_dsc_auc"] == 1.0
    assert a.ranks["quick"]["interactive_dsc_final"] == 1.0
    assert a.ranks["slow"]["interactive_msd_final"] == 3.0
    assert an.board.order()[-1] == "slow"
    assert set(an.stability.overall.teams) == set(subs)
    low, high = an.intervals["venous"]["B"]["quick"]["interactive_dsc_final"]
    assert low <= an.values["venous"]["B"]["quick"]["interactive_dsc_final"] <= high


def test_a_team_without_results_gets_the_worst_curve_at_the_boards_click_count() -> None:
    subs = {"here": team(0.5, 0.1), "away": {}}
    board = leaderboard(
        subs, centres=CENTRES, paradigms=["venous"], teams=["here", "away"], metric_sets=SIX
    )
    worst = board.centres["A"].paradigms["venous"].values["away"]
    assert worst["interactive_asd_auc"] == worst["interactive_msd_auc"] == 4 * LARGE
    assert worst["interactive_asd_final"] == LARGE
    assert worst["interactive_dsc_auc"] == worst["interactive_dsc_final"] == 0.0
    assert board.position == {"here": 1, "away": 2}


def test_lesion_metrics_come_from_the_prediction_at_the_last_click() -> None:
    subs = {"quick": team(0.5, 0.1), "slow": team(0.5, 0.02)}
    board = leaderboard(
        subs,
        centres=CENTRES,
        paradigms=["venous"],
        metric_sets={"venous": ["lesion_dice_per_case", "interactive_dsc_auc"]},
    )
    values = board.pooled["venous"].values
    final = np.mean([r.steps[-1].dice for r in subs["quick"]["venous"]])
    assert values["quick"]["lesion_dice_per_case"] == pytest.approx(final)
    assert board.order() == ["quick", "slow"]


def test_mixed_click_counts_are_refused() -> None:
    subs = {"x": {"venous": [case("a1", 0.5, 0.1), case("a2", 0.5, 0.1, clicks=3)]}}
    with pytest.raises(ValueError, match="click counts"):
        leaderboard(subs, centres={"a1": "A", "a2": "A"}, paradigms=["venous"], metric_sets=SIX)
