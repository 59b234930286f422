"""Bootstrap ranking stability (docs/evaluation.md "Ranking stability")."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scoring.aggregate import dataset_metrics
from scoring.ranking import bootstrap_stability, leaderboard, stratified_resample
from scoring.ranking.bootstrap import draw_counts
from scoring.ranking.cases import prepare, sample_metrics
from scoring.ranking.metrics import FULL_METRICS
from scoring.results import LESION_METRICS, CaseResult, CaseStatus, Mode

CENTRES = {
    **{f"cn{i}": "China" for i in range(5)},
    **{f"eg{i}": "Egypt" for i in range(7)},
    **{f"ex{i}": "External" for i in range(4)},
}


def synthetic_case(
    rng: np.random.Generator, case_id: str, *, skill: float, mode: Mode = "paper"
) -> CaseResult:
    """A plausible result: better ``skill`` finds more lesions and outlines them better."""
    lesions = int(rng.integers(0, 5))
    tp_0 = int(rng.binomial(lesions, min(1.0, skill + 0.1)))
    tp_50 = int(rng.binomial(tp_0, skill))
    fp_0 = int(rng.poisson(2 * (1 - skill)))
    label = int(rng.integers(0, 5000)) if lesions else 0
    pred = int(label * rng.uniform(0.5, 1.5)) + int(rng.integers(0, 200)) * fp_0
    inter = int(min(label, pred) * skill * rng.uniform(0.7, 1.0))
    dice_values = rng.uniform(0.5, 1.0, size=tp_50) * (0.5 + skill / 2)
    jaccard = dice_values / (2 - dice_values)
    status: CaseStatus = "missing" if rng.random() < 0.05 else "ok"
    return CaseResult(
        case_id=case_id,
        mode=mode,
        status=status,
        intersection=inter,
        pred_voxels=pred,
        label_voxels=label,
        dice=2 * inter / (pred + label) if pred + label else 1.0,
        tp_50=tp_50,
        fp_50=fp_0 + tp_0 - tp_50,
        fn_50=lesions - tp_50,
        tp_0=tp_0,
        fp_0=fp_0,
        fn_0=lesions - tp_0,
        lesion_sums={
            "dice": float(dice_values.sum()),
            "jaccard": float(jaccard.sum()),
            "voe": float((1 - jaccard).sum()),
            "rvd": float(rng.normal(0, 0.3, size=tp_50).sum()),
            "assd": float(rng.exponential(3, size=tp_50).sum()),
            "rmsd": float(rng.exponential(4, size=tp_50).sum()),
            "msd": float(rng.exponential(15, size=tp_50).sum()),
        },
        lesion_count=tp_50,
    )


def synthetic_phase(
    *, teams: int, paradigms: tuple[str, ...], seed: int = 0, mode: Mode = "paper"
) -> dict[str, dict[str, list[CaseResult]]]:
    rng = np.random.default_rng(seed)
    return {
        f"team{t}": {
            p: [
                synthetic_case(rng, c, skill=0.3 + 0.6 * t / max(teams - 1, 1), mode=mode)
                for c in CENTRES
            ]
            for p in paradigms
        }
        for t in range(teams)
    }


def test_stratified_resample_keeps_each_centre_and_its_case_count() -> None:
    strata = list(CENTRES.values())
    idx = stratified_resample(strata, samples=300, rng=np.random.default_rng(5))
    assert idx.shape == (300, len(strata))
    labels = np.asarray(strata)
    assert (labels[idx] == labels).all()
    # With replacement: some case is drawn twice somewhere, every case somewhere.
    assert any(len(set(row)) < len(row) for row in idx.tolist())
    assert set(idx.ravel().tolist()) == set(range(len(strata)))
    with pytest.raises(ValueError, match="samples"):
        stratified_resample(strata, samples=0, rng=np.random.default_rng(0))


@pytest.mark.parametrize("mode", ["paper", "reference"])
def test_vectorised_metrics_equal_dataset_metrics_on_the_same_resample(mode: Mode) -> None:
    subs = synthetic_phase(teams=3, paradigms=("venous",), seed=11, mode=mode)
    table = prepare(subs, centres=CENTRES, paradigms=["venous"], mode=mode)
    ids = table.case_ids["Egypt"]
    idx = stratified_resample(["Egypt"] * len(ids), samples=40, rng=np.random.default_rng(2))
    got = sample_metrics(
        table.quantities["venous"]["Egypt"],
        table.present["venous"]["Egypt"],
        draw_counts(idx, len(ids)),
        (*FULL_METRICS, "lesion_dice", "lesion_jaccard"),
    )
    for t, team in enumerate(table.teams):
        by_id = {r.case_id: r for r in subs[team]["venous"]}
        for b, row in enumerate(idx):
            want = dataset_metrics([by_id[ids[i]] for i in row], mode=mode)
            for metric, values in got.items():
                assert values[t, b] == pytest.approx(want[metric], rel=1e-12, abs=1e-12), metric


def test_vectorised_metrics_agree_when_no_case_counts() -> None:
    skipped = [CaseResult(case_id=c, mode="reference", status="invalid") for c in CENTRES]
    table = prepare(
        {"a": {"venous": skipped}}, centres=CENTRES, paradigms=["venous"], mode="reference"
    )
    got = sample_metrics(
        table.quantities["venous"]["China"],
        table.present["venous"]["China"],
        np.ones((1, 5)),
        FULL_METRICS,
    )
    want = dataset_metrics(skipped[:5], mode="reference")
    assert {m: float(v[0, 0]) for m, v in got.items()} == {m: want[m] for m in FULL_METRICS}


def test_same_seed_same_figures_other_seed_other_figures() -> None:
    subs = synthetic_phase(teams=4, paradigms=("visible", "combined"), seed=3)

    def run(seed: int) -> dict[str, object]:
        return bootstrap_stability(
            subs, centres=CENTRES, paradigms=["visible", "combined"], samples=200, seed=seed
        ).to_dict()

    first, again, other = run(42), run(42), run(43)
    assert first == again
    assert first != other
    assert json.loads(json.dumps(first)) == first


def test_distribution_summaries_are_consistent() -> None:
    subs = synthetic_phase(teams=5, paradigms=("venous",), seed=8)
    st = bootstrap_stability(subs, centres=CENTRES, paradigms=["venous"], samples=300, seed=1)
    board = leaderboard(subs, centres=CENTRES, paradigms=["venous"])
    assert st.cases_per_centre == {"China": 5, "Egypt": 7, "External": 4}
    for ranking, point in [(st.overall, board.position)] + [
        (st.centres[c], board.centres[c].position) for c in st.centres
    ]:
        for team, s in ranking.teams.items():
            assert s.point_position == point[team]
            assert len(s.rank_shares) == 5
            assert sum(s.rank_shares) == pytest.approx(1.0)
            assert s.share_first == s.rank_shares[0]
            assert s.interval[0] <= s.median <= s.interval[1]
        assert ranking.kendall_tau_mean is not None
        assert -1.0 <= ranking.kendall_tau_mean <= 1.0


def test_a_stable_ranking_has_tau_one_and_degenerate_intervals() -> None:
    # Each team is better than the next on every case and every metric.
    def results(rank: int) -> list[CaseResult]:
        d = 0.9 - 0.2 * rank
        return [
            CaseResult(
                case_id=c,
                mode="paper",
                intersection=round(d * 100),
                pred_voxels=100,
                label_voxels=100,
                dice=d,
                tp_50=4 - rank,
                fn_50=rank,
                fp_50=rank,
                tp_0=4 - rank,
                fn_0=rank,
                fp_0=rank,
                lesion_sums={m: (d if m in ("dice", "jaccard") else 1 - d) for m in LESION_METRICS},
                lesion_count=4 - rank,
            )
            for c in CENTRES
        ]

    subs = {f"t{r}": {"venous": results(r)} for r in range(4)}
    st = bootstrap_stability(subs, centres=CENTRES, paradigms=["venous"], samples=100, seed=0)
    assert st.overall.kendall_tau_mean == st.overall.kendall_tau_median == 1.0
    for r in range(4):
        s = st.overall.teams[f"t{r}"]
        assert s.interval == (r + 1, r + 1)
        assert s.rank_shares[r] == 1.0
    assert st.overall.teams["t0"].share_first == 1.0


def test_excluding_a_team_changes_the_distribution() -> None:
    subs = synthetic_phase(teams=4, paradigms=("venous",), seed=2)
    everyone = bootstrap_stability(subs, centres=CENTRES, paradigms=["venous"], samples=50)
    public = bootstrap_stability(
        subs, centres=CENTRES, paradigms=["venous"], samples=50, teams=["team0", "team1", "team2"]
    )
    assert set(public.overall.teams) == {"team0", "team1", "team2"}
    assert len(public.overall.teams["team0"].rank_shares) == 3
    assert everyone.overall.teams["team3"].share_first > 0.5
    assert public.overall.teams["team2"].share_first > everyone.overall.teams["team2"].share_first


def test_per_case_aggregation_bootstraps_too() -> None:
    subs = synthetic_phase(teams=3, paradigms=("venous",), seed=4)
    st = bootstrap_stability(
        subs, centres=CENTRES, paradigms=["venous"], samples=100, aggregation="per_case"
    )
    board = leaderboard(subs, centres=CENTRES, paradigms=["venous"], aggregation="per_case")
    for team, s in st.overall.teams.items():
        assert s.point_position == board.position[team]
        assert sum(s.rank_shares) == pytest.approx(1.0)
