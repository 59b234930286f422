"""One-pass board analysis: same ranks and stability as the separate functions, unranked
entries beside the ranking, metric intervals checked against a plain loop over the resamples."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.aggregate import dataset_metrics
from scoring.ranking import bootstrap_stability, leaderboard, stratified_resample
from scoring.ranking.analysis import POOLED, analyse, case_keys
from scoring.ranking.metrics import FULL_METRICS
from scoring.results import CaseResult
from tests.scoring.test_ranking_bootstrap import CENTRES, synthetic_case

SKILLS = {"alpha": 0.9, "bravo": 0.7, "charlie": 0.5, "delta": 0.45, "ref": 0.8}


def _submissions(seed: int = 3) -> dict[str, dict[str, list[CaseResult]]]:
    rng = np.random.default_rng(seed)
    return {
        team: {"venous": [synthetic_case(rng, c, skill=s) for c in CENTRES]}
        for team, s in SKILLS.items()
    }


@pytest.mark.parametrize("aggregation", ["dataset", "per_case"])
def test_ranked_entries_match_the_separate_board_and_bootstrap(aggregation: str) -> None:
    subs = _submissions()
    teams = ["alpha", "bravo", "charlie", "delta"]
    common = {
        "centres": CENTRES,
        "paradigms": ["venous"],
        "ties": "average",
        "aggregation": aggregation,
    }
    an = analyse(subs, ranked=teams, unranked=["ref"], samples=300, seed=11, **common)  # type: ignore[arg-type]
    board = leaderboard(subs, teams=teams, **common)  # type: ignore[arg-type]
    stab = bootstrap_stability(subs, teams=teams, samples=300, seed=11, **common)  # type: ignore[arg-type]
    assert an.board.to_dict() == board.to_dict()
    assert an.stability.to_dict() == stab.to_dict()
    assert "ref" not in an.board.position
    # The unranked entry still has every value and interval, on every scope.
    for scope in (POOLED, *sorted(set(CENTRES.values()))):
        assert set(an.values["venous"][scope]) == {*teams, "ref"}
        assert set(an.intervals["venous"][scope]["ref"]) == set(FULL_METRICS)


def test_metric_intervals_equal_a_loop_over_the_same_resamples() -> None:
    subs = _submissions(seed=5)
    samples, seed = 60, 7
    an = analyse(
        subs,
        centres=CENTRES,
        paradigms=["venous"],
        ranked=["alpha", "bravo"],
        unranked=["ref"],
        samples=samples,
        seed=seed,
    )
    # Second implementation: the same stratified draw (centres in first-seen order), each
    # resample's metrics from scoring.aggregate.dataset_metrics on the drawn CaseResults.
    case_ids = [
        c for centre in dict.fromkeys(CENTRES.values()) for c in CENTRES if CENTRES[c] == centre
    ]
    idx = stratified_resample(
        [CENTRES[c] for c in case_ids], samples=samples, rng=np.random.default_rng(seed)
    )
    for team in ("alpha", "ref"):
        by_id = {r.case_id: r for r in subs[team]["venous"]}
        drawn = [[by_id[case_ids[k]] for k in row] for row in idx]
        for metric in ("lesion_dice_per_case", "lesion_recall", "lesion_assd"):
            pooled = [dataset_metrics(d, mode="paper")[metric] for d in drawn]
            low, high = an.intervals["venous"][POOLED][team][metric]
            assert low == pytest.approx(np.percentile(pooled, 2.5), abs=1e-9)
            assert high == pytest.approx(np.percentile(pooled, 97.5), abs=1e-9)
            egypt = [
                dataset_metrics([r for r in d if CENTRES[r.case_id] == "Egypt"], mode="paper")[
                    metric
                ]
                for d in drawn
            ]
            low, high = an.intervals["venous"]["Egypt"][team][metric]
            assert (low, high) == pytest.approx(
                (np.percentile(egypt, 2.5), np.percentile(egypt, 97.5)), abs=1e-9
            )
        point = dataset_metrics(subs[team]["venous"], mode="paper")["lesion_dice_per_case"]
        assert an.values["venous"][POOLED][team]["lesion_dice_per_case"] == pytest.approx(point)


def test_case_keys_are_each_cases_own_metric() -> None:
    subs = _submissions()
    an = analyse(subs, centres=CENTRES, paradigms=["venous"], ranked=["alpha", "bravo"], samples=10)
    keys = case_keys(an.table, paradigm="venous", metric="lesion_dice_per_case")
    order = [c for centre in an.table.centres for c in an.table.case_ids[centre]]
    dice = {r.case_id: r.dice for r in subs["bravo"]["venous"]}
    counted = {r.case_id: r.counted for r in subs["bravo"]["venous"]}
    expected = [-dice[c] if counted[c] else 0.0 for c in order]
    assert keys[1].tolist() == pytest.approx(expected)
    egypt = case_keys(an.table, paradigm="venous", metric="lesion_dice_per_case", centre="Egypt")
    assert egypt.shape == (2, 7)
    with pytest.raises(ValueError, match="not ranked"):
        case_keys(an.table, paradigm="venous", metric="nonsense")


def test_an_entry_cannot_be_ranked_and_unranked() -> None:
    with pytest.raises(ValueError, match="both ranked and unranked"):
        analyse(_submissions(), centres=CENTRES, paradigms=["venous"], ranked=["a"], unranked=["a"])


def test_kendall_tau_says_over_how_many_samples() -> None:
    tied = {
        t: {"venous": [CaseResult(case_id=c, mode="paper") for c in CENTRES]} for t in ("a", "b")
    }
    st = bootstrap_stability(tied, centres=CENTRES, paradigms=["venous"], samples=20)
    assert st.overall.kendall_tau_mean is None
    assert st.overall.kendall_tau_samples == 0
    st = bootstrap_stability(_submissions(), centres=CENTRES, paradigms=["venous"], samples=50)
    assert 0 < st.overall.kendall_tau_samples <= 50
    assert st.overall.to_dict()["kendall_tau_samples"] == st.overall.kendall_tau_samples
