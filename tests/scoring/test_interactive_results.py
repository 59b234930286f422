"""Interactive results: JSON round trip, reading once, the closed-loop step, the ranking hooks."""

from __future__ import annotations

import json
from unittest import mock

import numpy as np
import pytest

from scoring.aggregate import dataset_metrics as dataset_metrics_of_lesions
from scoring.interactive import steps as steps_module
from scoring.interactive.aggregate import (
    DIRECTIONS,
    INTERACTIVE_METRICS,
    QUANTITIES,
    case_quantities,
    dataset_metrics,
    lesion_results,
    mean_curve,
    metrics_from_sums,
    worst_values,
)
from scoring.interactive.clickfile import Clicks
from scoring.interactive.results import InteractiveCaseResult, StepResult
from scoring.interactive.score import find_click_predictions, score_interactive_case
from scoring.interactive.simulate import ClickSettings, next_clicks
from scoring.interactive.steps import score_step, union_surface
from scoring.labelcase import LabelCase
from scoring.lesions import components_from_mask
from scoring.ranking.ranks import rank_keys
from scoring.surface import group_surface
from tests.scoring.generators import random_interactive_case, write_image


def _written_case(tmp_path, seed=1, clicks=10):
    preds, label, spacing = random_interactive_case(seed, clicks=clicks)
    label_path = write_image(tmp_path / "c.nii.gz", label, spacing=spacing)
    paths = [
        write_image(tmp_path / f"c_{k}.nii.gz", p, spacing=spacing) for k, p in enumerate(preds)
    ]
    return LabelCase.read(label_path, case_id="c"), paths


def test_results_survive_a_json_round_trip(tmp_path):
    label, paths = _written_case(tmp_path)
    paths[4] = None
    result = score_interactive_case(label, paths)
    again = InteractiveCaseResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert again == result
    assert again.steps[4].status == "missing"
    assert again.steps[5].lesions is not None


def test_threads_change_nothing_and_a_carried_prediction_is_read_once(tmp_path):
    label, paths = _written_case(tmp_path)
    serial = score_interactive_case(label, paths, jobs=1)
    assert score_interactive_case(label, paths, jobs=4) == serial
    carried = [*paths[:6], *[paths[5]] * 5]  # a closed loop that stopped after 5 clicks
    with mock.patch.object(steps_module, "read_lesions", wraps=steps_module.read_lesions) as read:
        result = score_interactive_case(label, carried)
    assert read.call_count == 6
    assert [s.dice for s in result.steps[5:]] == [serial.steps[5].dice] * 6
    assert [s.clicks for s in result.steps] == list(range(11))


def test_a_closed_loop_step_reads_once_and_feeds_the_next_click(tmp_path):
    label, paths = _written_case(tmp_path)
    settings = ClickSettings()
    clicks = Clicks()
    steps = []
    for k, path in enumerate(paths):
        step, prediction = score_step(label, path, clicks=k, mode="paper")
        steps.append(step)
        if k < settings.count:
            clicks = next_clicks(label, prediction, clicks, settings)
    assert len(clicks.lesion) == len(clicks.background) == 10
    looped = InteractiveCaseResult.build(case_id="c", mode="paper", steps=steps)
    assert looped == score_interactive_case(label, paths)


def test_a_linked_prediction_is_refused_even_when_named_directly(tmp_path):
    label, paths = _written_case(tmp_path)
    link = tmp_path / "link.nii.gz"
    link.symlink_to(paths[3])
    step, prediction = score_step(label, link, clicks=3, mode="paper")
    assert prediction is None
    assert step.status == "invalid"
    assert "symbolic link" in step.errors[0]


def test_labels_read_for_task_1_reference_mode_are_refused(tmp_path):
    m = np.zeros((4, 4, 4), dtype=bool)
    m[1, 1, 1] = True
    label = LabelCase.from_mask(m, case_id="c", mode="reference")
    with pytest.raises(ValueError, match="'paper' mode"):
        score_step(label, None, clicks=0, mode="paper")


def _fake(case_id, dice, assd, mode="paper", status="ok"):
    steps = [StepResult(clicks=k, status=status, dice=d, assd=a, msd=2 * a)
             for k, (d, a) in enumerate(zip(dice, assd, strict=True))]  # fmt: skip
    return InteractiveCaseResult.build(case_id=case_id, mode=mode, steps=steps)


def test_dataset_metrics_are_means_of_per_case_values_and_worst_when_nothing_counts():
    a = _fake("a", [0.0, 0.5, 1.0], [9001.0, 2.0, 0.0])
    b = _fake("b", [0.2, 0.4, 0.6], [3.0, 2.0, 1.0])
    m = dataset_metrics([a, b], mode="paper", clicks=2)
    assert m.values["interactive_dsc_auc"] == pytest.approx((1.0 + 0.8) / 2)
    assert m.values["interactive_asd_final"] == pytest.approx(0.5)
    assert m.values["interactive_msd_auc"] == pytest.approx((9005.0 + 8.0) / 2)
    assert m.curves["dice"] == pytest.approx([0.1, 0.45, 0.8])
    skipped = _fake("s", [0.0] * 3, [9001.0] * 3, mode="reference", status="missing")
    none = dataset_metrics([skipped], mode="reference", clicks=2)
    assert none.values == worst_values(2)
    assert none.n_cases == 0
    assert mean_curve([skipped]) == []


def test_ranking_hooks_reproduce_the_dataset_metrics_on_any_weighting():
    rng = np.random.default_rng(3)
    cases = [
        _fake(f"c{i}", rng.random(11).tolist(), (rng.random(11) * 10).tolist()) for i in range(7)
    ]
    rows = case_quantities(cases, mode="paper")
    assert rows.shape == (7, len(QUANTITIES))
    weights = rng.integers(0, 3, size=(5, 7)).astype(float)
    weights[0] = 1.0
    from_sums = metrics_from_sums(weights @ rows, clicks=10)
    for s, w in enumerate(weights):
        subset = [c for c, n in zip(cases, w, strict=True) for _ in range(int(n))]
        direct = dataset_metrics(subset, mode="paper", clicks=10).values
        for metric in INTERACTIVE_METRICS:
            assert from_sums[metric][s] == pytest.approx(direct[metric])
    assert metrics_from_sums(np.zeros(len(QUANTITIES)), clicks=10)["interactive_asd_auc"] == 90010
    with pytest.raises(ValueError, match="'paper' mode"):
        case_quantities(cases, mode="reference")


def test_lesion_results_at_a_click_count_feed_the_dataset_metrics(tmp_path):
    label, paths = _written_case(tmp_path)
    result = score_interactive_case(label, paths)
    at_ten = lesion_results([result], clicks=10)
    assert at_ten == [result.steps[10].lesions]
    assert dataset_metrics_of_lesions(at_ten, mode="paper").lesion_dice_per_case == pytest.approx(
        result.steps[10].dice
    )


def test_directions_rank_dice_up_and_distances_down():
    good = _fake("g", [0.9] * 11, [1.0] * 11)
    bad = _fake("b", [0.1] * 11, [5.0] * 11)
    values = {
        m: np.array([dataset_metrics([r], mode="paper", clicks=10).values[m] for r in (good, bad)])
        for m in INTERACTIVE_METRICS
    }
    keys = np.stack(
        [-values[m] if DIRECTIONS[m] == "higher" else values[m] for m in INTERACTIVE_METRICS],
        axis=-1,
    )  # (teams, metrics), lower is better: how scoring.ranking turns directions into keys
    ranks = rank_keys(keys.T, ties="min")
    assert ranks.tolist() == [[1.0, 2.0]] * len(INTERACTIVE_METRICS)


def test_the_union_surface_is_the_union_of_the_component_surfaces(monkeypatch):
    rng = np.random.default_rng(5)
    for density in (0.02, 0.1, 0.3, 0.6):
        mask = rng.random((14, 12, 10)) < density
        comps = components_from_mask(mask)
        whole = {tuple(p) for p in group_surface(comps, tuple(range(1, comps.count + 1)))}
        separate = union_surface(comps, lambda ids, comps=comps: group_surface(comps, ids))
        assert {tuple(p) for p in separate} == whole
        assert len(separate) == len(whole)
        monkeypatch.setattr(steps_module, "_MAX_SEPARATE", 1)  # one erosion of the crop
        at_once = union_surface(comps, lambda ids: pytest.fail("not per component"))
        monkeypatch.undo()
        assert {tuple(p) for p in at_once} == whole


def test_a_folder_full_of_junk_still_finds_its_files_and_names_a_bounded_list(tmp_path):
    _, paths = _written_case(tmp_path)
    for i in range(1200):
        (tmp_path / f"junk_{i}.txt").touch()
    found = find_click_predictions(tmp_path, "c", clicks=10)
    assert found.paths == paths
    assert not found.invalid
    assert "ignored more than 1000 files (only 1000 were looked at)" in found.warnings[0]
    assert len(found.warnings[0]) < 1000
