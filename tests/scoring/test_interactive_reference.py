"""Interactive scoring against the transcribed TriALS interactive evaluator, both modes, to 1e-6.

``interactive_reference.py`` transcribes the evaluator (xmed-lab/TriALS de701ea); the
library must give its per-click Dice/ASSD/MSD, per-case AUC and final and the dataset
means: ``reference`` mode with the string-sorted click order, ``paper`` mode with the
same computation in click order.
"""

from __future__ import annotations

import numpy as np
import pytest

from scoring.interactive.aggregate import LABELS, dataset_metrics
from scoring.interactive.results import InteractiveCaseResult
from scoring.interactive.score import find_click_predictions, score_interactive_case
from scoring.interactive.steps import PredictionRead, score_prediction
from scoring.labelcase import LabelCase
from scoring.lesions import components_from_mask
from tests.scoring import interactive_reference as ref
from tests.scoring.generators import random_interactive_case, write_image

SEEDS = range(48)
TOL = 1e-6


def _library(
    seed: int, mode: str, *, clicks: int = 10, harness: bool = True
) -> tuple[InteractiveCaseResult, dict]:
    preds, label, spacing = random_interactive_case(seed, clicks=clicks)
    case = LabelCase.from_mask(label == 1, case_id=f"c{seed}", spacing=spacing)
    steps = [
        score_prediction(
            case,
            PredictionRead(components=components_from_mask(p == 1), spacing=spacing),
            clicks=k,
            mode=mode,  # type: ignore[arg-type]
        )
        for k, p in enumerate(preds)
    ]
    result = InteractiveCaseResult.build(case_id=f"c{seed}", mode=mode, steps=steps)  # type: ignore[arg-type]
    if not harness:
        return result, {}
    per_click, agg = ref.case_from_arrays(
        f"c{seed}",
        preds,
        label,
        [spacing] * len(preds),
        click_order="string" if mode == "reference" else "numeric",
    )
    return result, {"per_click": per_click, "agg": agg}


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= TOL * max(1.0, abs(b))


@pytest.mark.parametrize("mode", ["reference", "paper"])
def test_generated_cases_match_the_transcribed_evaluator(mode):
    results, aggs = [], []
    for seed in SEEDS:
        result, expected = _library(seed, mode)
        for k, scores in expected["per_click"].items():
            step = result.steps[k]
            for metric in ("dice", "assd", "msd"):
                assert _close(getattr(step, metric), scores[metric][0]), (seed, k, metric)
        for metric in ("dice", "assd", "msd"):
            assert _close(result.auc[metric], expected["agg"][metric]["AUC"]), (seed, metric)
            assert _close(result.final[metric], expected["agg"][metric]["Final"]), (seed, metric)
        results.append(result)
        aggs.append(expected["agg"])
    got = dataset_metrics(results, mode=mode, clicks=10).as_dict()  # type: ignore[arg-type]
    want = ref.dataset_means(aggs)
    assert set(got) == set(LABELS.values())
    for name, value in want.items():
        assert _close(got[name], value), name


def test_the_ordering_bug_changes_the_numbers():
    """Reference and paper differ exactly where click 10 is not click 9's successor."""
    differ = 0
    for seed in range(24):
        r, _ = _library(seed, "reference", harness=False)
        p, _ = _library(seed, "paper", harness=False)
        assert r.final["dice"] == r.steps[9].dice
        assert p.final["dice"] == p.steps[10].dice
        assert r.order == [0, 1, 10, *range(2, 10)]
        differ += r.auc["dice"] != p.auc["dice"]
    assert differ > 12


def test_other_click_counts_follow_the_same_rule():
    for seed in range(6):
        for mode in ("reference", "paper"):
            result, expected = _library(seed, mode, clicks=12)
            for metric in ("dice", "assd", "msd"):
                assert _close(result.auc[metric], expected["agg"][metric]["AUC"])
                assert _close(result.final[metric], expected["agg"][metric]["Final"])
    assert _library(0, "reference", clicks=12)[0].order[:5] == [0, 1, 10, 11, 12]


@pytest.mark.parametrize("mode", ["reference", "paper"])
def test_files_read_like_the_evaluator(tmp_path, mode):
    """Written files, nibabel on the harness side; reference takes the prediction's spacing."""
    for seed in range(0, 24, 3):
        preds, label, spacing = random_interactive_case(seed)
        case_id = f"venous_{seed}"
        folder = tmp_path / mode / case_id
        folder.mkdir(parents=True)
        label_path = write_image(tmp_path / mode / f"{case_id}.nii.gz", label, spacing=spacing)
        # A prediction header that disagrees slightly: the evaluator uses it.
        pred_spacing = (spacing[0], spacing[1], spacing[2] * 1.0005)
        for k, pred in enumerate(preds):
            write_image(folder / f"{case_id}_{k}.nii.gz", pred, spacing=pred_spacing)
        order = "string" if mode == "reference" else "numeric"
        want = ref.case_from_files(case_id, folder, label_path, click_order=order)
        if mode == "paper":  # the label's spacing
            _, want = ref.case_from_arrays(
                case_id, preds, label, [spacing] * len(preds), click_order="numeric"
            )
        got = score_interactive_case(
            LabelCase.read(label_path, case_id=case_id),
            find_click_predictions(folder, case_id, clicks=10),
            mode=mode,  # type: ignore[arg-type]
        )
        assert got.status == "ok", got.errors
        for metric in ("dice", "assd", "msd"):
            assert _close(got.auc[metric], want[metric]["AUC"]), (seed, metric)
            assert _close(got.final[metric], want[metric]["Final"]), (seed, metric)


def test_the_evaluator_stops_on_an_empty_label_podium_does_not():
    empty = np.zeros((6, 5, 4), dtype=np.uint8)
    with pytest.raises(IndexError):
        ref.case_from_arrays("e", [empty] * 11, empty, [(1.0, 1.0, 1.0)] * 11)
    case = LabelCase.from_mask(empty == 1, case_id="e")
    for mode in ("paper", "reference"):
        steps = [
            score_prediction(
                case,
                PredictionRead(components=components_from_mask(empty == 1), spacing=(1, 1, 1)),
                clicks=k,
                mode=mode,  # type: ignore[arg-type]
            )
            for k in range(11)
        ]
        r = InteractiveCaseResult.build(case_id="e", mode=mode, steps=steps)  # type: ignore[arg-type]
        assert (r.auc, r.final) == (
            {"dice": 10.0, "assd": 0.0, "msd": 0.0},
            {"dice": 1.0, "assd": 0.0, "msd": 0.0},
        )
