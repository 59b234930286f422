"""One named test per rule of docs/evaluation.md, on small hand-built volumes.

Each checks the expected numbers directly and, where it helps, that the plain
oracle agrees.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from scoring.aggregate import dataset_metrics
from scoring.labelcase import LabelCase
from scoring.lesions import components_from_mask
from scoring.metrics import score_case
from scoring.results import PENALTY
from scoring.surface import surface_distances, surface_voxels
from tests.scoring.generators import fast_case
from tests.scoring.oracle import oracle_case


def _vol(shape=(12, 12, 12)) -> np.ndarray:
    return np.zeros(shape, dtype=np.uint8)


def _same(a, b) -> None:
    counts = ("tp_50", "fp_50", "fn_50", "tp_0", "fp_0", "fn_0", "intersection", "lesion_count")
    assert {k: getattr(a, k) for k in counts} == {k: getattr(b, k) for k in counts}
    assert a.dice == pytest.approx(b.dice, abs=1e-12)
    for metric, value in a.lesion_sums.items():
        assert value == pytest.approx(b.lesion_sums[metric], abs=1e-6), metric


def test_merge_one_prediction_spanning_two_lesions_is_one_tp_and_one_fn() -> None:
    label, pred = _vol(), _vol()
    label[2:5, 2:5, 2:5] = 1
    label[2:5, 2:5, 6:9] = 1
    pred[2:5, 2:5, 2:9] = 1  # both lesions and the slab between them
    for mode in ("paper", "reference"):
        result = fast_case(pred, label, mode=mode)
        assert (result.tp_50, result.fp_50, result.fn_50) == (1, 0, 1)
        assert (result.tp_0, result.fp_0, result.fn_0) == (1, 0, 1)
        [entry] = result.lesions
        assert entry["ref_ids"] == [1, 2]
        assert entry["dice"] == pytest.approx(2 * 54 / (63 + 54))
        _same(result, oracle_case(pred, label, mode=mode))


def test_split_lesion_is_one_tp_and_one_fp() -> None:
    label, pred = _vol(), _vol()
    label[2:6, 2:6, 2:6] = 1
    pred[2:6, 2:6, 2:6] = 1
    pred[2:6, 2:6, 4] = 0  # cut in two
    result = fast_case(pred, label)
    assert (result.tp_50, result.fp_50, result.fn_50) == (1, 1, 0)
    [entry] = result.lesions
    assert entry["pred_ids"] == [1, 2]
    assert entry["iou"] == pytest.approx(48 / 64)
    _same(result, oracle_case(pred, label))


def test_misaligned_ids_reference_union_bug_rejects_perfect_and_accepts_poor_match() -> None:
    label, pred = _vol((12, 3, 1)), _vol((12, 3, 1))
    label[3:8, 0, 0] = 1  # reference lesion 1 (first in x-major raster order)
    label[3:8, 2, 0] = 1  # reference lesion 2
    pred[3:8, 2, 0] = 1  # prediction 1: exactly lesion 2
    pred[5:12, 0, 0] = 1  # prediction 2: 3 of lesion 1's voxels and 4 more (IoU 1/3)
    paper = fast_case(pred, label, mode="paper")
    reference = fast_case(pred, label, mode="reference")
    # Paper keeps the perfect match.
    assert [(e["ref_id"], e["dice"]) for e in paper.lesions] == [(2, 1.0)]
    # The reference's union for prediction 1 uses the voxels labelled 1 (prediction 2's
    # group): 5 / 12 fails and erases group 2, so prediction 2's union is lesion 1 alone: 3 / 5.
    assert [(e["ref_id"], e["dice"]) for e in reference.lesions] == [(1, 0.5)]
    assert (reference.tp_50, reference.fp_50, reference.fn_50) == (1, 1, 1)
    _same(paper, oracle_case(pred, label, mode="paper"))
    _same(reference, oracle_case(pred, label, mode="reference"))


def test_aligned_ids_modes_agree_on_detection() -> None:
    label, pred = _vol(), _vol()
    label[1:4, 1:4, 1:4] = 1
    label[7:10, 7:10, 7:10] = 1
    pred[1:4, 1:4, 1:3] = 1
    pred[7:10, 7:10, 8:10] = 1
    paper, reference = fast_case(pred, label), fast_case(pred, label, mode="reference")
    assert (paper.tp_50, paper.tp_0) == (reference.tp_50, reference.tp_0) == (2, 2)


def test_empty_prediction_misses_every_lesion() -> None:
    label = _vol()
    label[1:3, 1:3, 1:3] = 1
    label[6:9, 6:9, 6:9] = 1
    result = fast_case(_vol(), label)
    assert (result.tp_50, result.fp_50, result.fn_50, result.dice) == (0, 0, 2, 0.0)
    metrics = dataset_metrics([result], mode="paper")
    assert metrics.lesion_dice == 0.0
    assert metrics.lesion_voe == 1.0
    assert metrics.lesion_assd == PENALTY["assd"]
    assert metrics.lesion_recall == 0.0


def test_empty_label_makes_every_prediction_a_false_positive() -> None:
    pred = _vol()
    pred[1:3, 1:3, 1:3] = 1
    pred[6:9, 6:9, 6:9] = 1
    for mode in ("paper", "reference"):
        result = fast_case(pred, _vol(), mode=mode)
        assert (result.tp_50, result.fp_50, result.fn_50) == (0, 2, 0)
        assert (result.tp_0, result.fp_0, result.fn_0) == (0, 2, 0)
        assert result.dice == 0.0


def test_both_empty_is_a_perfect_case_with_global_dice_one() -> None:
    result = fast_case(_vol(), _vol())
    assert result.dice == 1.0
    assert (result.tp_50, result.fp_50, result.fn_50) == (0, 0, 0)
    for mode in ("paper", "reference"):
        metrics = dataset_metrics([fast_case(_vol(), _vol(), mode=mode)], mode=mode)
        assert metrics.lesion_dice_global == 1.0
        assert metrics.lesion_dice_per_case == 1.0
        # Nothing detected anywhere: the reference's defaults.
        assert metrics.lesion_msd == PENALTY["msd"]
        assert metrics.lesion_precision == metrics.lesion_recall == 0.0


def test_missing_prediction_file_is_scored_as_empty_in_paper_and_skipped_in_reference(
    tmp_path,
) -> None:
    label_mask = np.zeros((6, 6, 6), dtype=bool)
    label_mask[1:4, 1:4, 1:4] = True
    for mode in ("paper", "reference"):
        label = LabelCase.from_mask(label_mask, case_id="c1", mode=mode)
        result = score_case(label, tmp_path / "c1.nii.gz")
        assert result.status == "missing"
        assert "c1" in result.errors[0]
        assert (result.fn_50, result.label_voxels) == (1, 27)
        good = fast_case(label_mask.astype(np.uint8), label_mask.astype(np.uint8), mode=mode)
        metrics = dataset_metrics([good, result], mode=mode)
        assert metrics.n_cases == (2 if mode == "paper" else 1)
        assert metrics.lesion_dice_per_case == (0.5 if mode == "paper" else 1.0)
    assert score_case(LabelCase.from_mask(label_mask, case_id="c1"), None).status == "missing"


def test_anisotropic_spacing_scales_surface_distances_per_axis() -> None:
    label, pred = _vol((8, 8, 8)), _vol((8, 8, 8))
    label[2:5, 2:5, 2:6] = 1
    pred[2:5, 2:5, 3:7] = 1  # shifted one voxel along z (IoU 0.6)
    along_z = fast_case(pred, label, spacing=(1.0, 1.0, 3.0))
    along_x = fast_case(pred, label, spacing=(3.0, 1.0, 1.0))
    assert along_z.lesions[0]["msd"] == pytest.approx(3.0)
    assert along_x.lesions[0]["msd"] == pytest.approx(1.0)
    _same(along_z, oracle_case(pred, label, spacing=(1.0, 1.0, 3.0)))
    _same(along_x, oracle_case(pred, label, spacing=(3.0, 1.0, 1.0)))


def test_lesion_touching_the_volume_border_has_its_border_voxels_on_the_surface() -> None:
    label = np.ones((3, 3, 3), dtype=np.uint8)  # the whole volume
    assert len(surface_voxels(label.astype(bool))) == 26
    pred = label.copy()
    pred[:, :, 2] = 0
    result = fast_case(pred, label, spacing=(0.5, 0.5, 2.0))
    assert result.tp_50 == 1
    _same(result, oracle_case(pred, label, spacing=(0.5, 0.5, 2.0)))
    corner = _vol((5, 5, 5))
    corner[0:2, 0:2, 0:2] = 1
    _same(fast_case(corner, corner), oracle_case(corner, corner))


def test_surface_uses_the_18_neighbourhood() -> None:
    ball = ndimage.generate_binary_structure(3, 2)  # 3×3×3 minus the 8 corners
    surface = {tuple(p) for p in surface_voxels(ball)}
    # Its centre has all 18 neighbours: interior under the 18-neighbourhood (it
    # would be surface under the 26-neighbourhood, whose corners are missing).
    assert (1, 1, 1) not in surface
    assert len(surface) == 18


def test_assd_and_rmsd_pool_both_directions() -> None:
    pred = np.array([[0.0, 0.0, 0.0]])
    ref = np.array([[0.0, 0.0, 2.0], [0.0, 0.0, 4.0], [0.0, 0.0, 6.0]])
    d = surface_distances(pred, ref)
    pooled = (2.0 + 2.0 + 4.0 + 6.0) / 4
    mean_of_means = (2.0 + (2.0 + 4.0 + 6.0) / 3) / 2
    assert d.assd == pytest.approx(pooled)
    assert d.assd != pytest.approx(mean_of_means)
    assert d.rmsd == pytest.approx(np.sqrt((4 + 4 + 16 + 36) / 4))
    assert d.msd == 6.0


def test_rvd_normaliser_depends_on_mode() -> None:
    label, pred = _vol(), _vol()
    label[2:4, 2:4, 2:3] = 1  # 4 voxels
    pred[2:4, 2:4, 2:3] = 1
    pred[2:4, 2:3, 3:4] = 1  # 6 voxels, IoU 4/6
    assert fast_case(pred, label).lesions[0]["rvd"] == pytest.approx(2 / 4)
    assert fast_case(pred, label, mode="reference").lesions[0]["rvd"] == pytest.approx(2 / 6)


def test_iou_threshold_is_strict() -> None:
    label, pred = _vol(), _vol()
    label[2:4, 2:4, 2:4] = 1  # 8 voxels
    pred[2:4, 2:4, 2:6] = 1  # 16 voxels containing them: IoU exactly 0.5
    result = fast_case(pred, label)
    assert (result.tp_50, result.tp_0) == (0, 1)
    assert result.lesions == []


def test_tie_goes_to_the_first_reference_lesion() -> None:
    label, pred = _vol((20, 1, 1)), _vol((20, 1, 1))
    label[0:4, 0, 0] = 1  # reference 1
    label[6:16, 0, 0] = 1  # reference 2
    pred[2:8, 0, 0] = 1  # prediction 1: two voxels of each reference (a tie)
    pred[9:14, 0, 0] = 1  # prediction 2: five voxels of reference 2, its best match
    result = fast_case(pred, label)
    # The tie sends prediction 1 to reference 1 (the first column); sending it to
    # reference 2 would have merged it with prediction 2: one TP, one FP, one FN.
    assert (result.tp_0, result.fp_0, result.fn_0) == (2, 0, 0)
    _same(result, oracle_case(pred, label))


def test_paper_mode_pools_penalties_and_reference_mode_does_not() -> None:
    label, pred = _vol(), _vol()
    label[1:4, 1:4, 1:4] = 1
    label[8:10, 8:10, 8:10] = 1  # missed
    pred[1:4, 1:4, 1:4] = 1
    pred[6, 0, 0] = 1  # spurious
    paper = dataset_metrics([fast_case(pred, label)], mode="paper")
    reference = dataset_metrics([fast_case(pred, label, mode="reference")], mode="reference")
    assert reference.lesion_dice == 1.0
    assert paper.lesion_dice == pytest.approx(1 / 3)
    assert paper.lesion_assd == pytest.approx(2 * 9001 / 3)
    assert paper.n_entries == 3
    assert reference.n_entries == 1


def test_component_numbering_is_x_major_raster_order() -> None:
    mask = np.zeros((4, 4, 4), dtype=bool)
    mask[0, 3, 3] = True  # first in x-major order, last in z-major order
    mask[3, 0, 0] = True
    mask[1, 1, 0] = True
    components = components_from_mask(mask)
    expected, _ = ndimage.label(mask)
    got = np.zeros_like(expected)
    got[components.mask([1], ((0, 4), (0, 4), (0, 4)))] = 1
    got[components.mask([2], ((0, 4), (0, 4), (0, 4)))] = 2
    got[components.mask([3], ((0, 4), (0, 4), (0, 4)))] = 3
    assert np.array_equal(got, expected)
    assert expected[0, 3, 3] == 1
