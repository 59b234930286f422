"""Click simulation: one named test per rule of scoring.interactive.simulate (docs/scoring.md)."""

from __future__ import annotations

import nibabel
import numpy as np
import pytest
import SimpleITK
from scipy import ndimage

from scoring.interactive.clickfile import Clicks
from scoring.interactive.simulate import (
    ClickSettings,
    next_clicks,
    shell_click,
    static_clicks,
)
from scoring.io import read_lesions
from scoring.labelcase import LabelCase
from scoring.lesions import components_from_mask
from tests.scoring.generators import _blobs, write_image

SAMPLE = "tests/data/trials-sample/labels/venous_0.nii.gz"


def _label(mask, spacing=(1.0, 1.0, 1.0)):
    return LabelCase.from_mask(mask, case_id="c", spacing=spacing)


def _edt(mask, spacing):
    """Brute-force reference: scipy's exact EDT on the padded volume (outside = boundary)."""
    return ndimage.distance_transform_edt(np.pad(mask, 1), sampling=spacing)[1:-1, 1:-1, 1:-1]


def _two_lesions():
    m = np.zeros((20, 16, 12), dtype=bool)
    m[2:9, 2:9, 2:9] = True  # 343 voxels
    m[12:16, 10:14, 6:9] = True  # 48 voxels
    return m


def test_lesion_click_is_the_deepest_voxel_of_the_largest_miss():
    m = _two_lesions()
    clicks = next_clicks(_label(m), None, Clicks(), ClickSettings())
    assert clicks.lesion == ((5, 5, 5),)
    big = np.zeros_like(m)
    big[2:9, 2:9, 2:9] = True
    assert _edt(big, (1, 1, 1))[clicks.lesion[0]] == _edt(big, (1, 1, 1)).max()


def test_a_found_lesion_sends_the_click_to_the_next_miss():
    m = _two_lesions()
    pred = np.zeros_like(m)
    pred[2:9, 2:9, 2:9] = True
    clicks = next_clicks(_label(m), components_from_mask(pred), Clicks(), ClickSettings())
    (x, y, z) = clicks.lesion[0]
    assert 12 <= x < 16
    assert 10 <= y < 14
    assert z == 7


def test_partial_miss_uses_the_error_region_not_the_lesion():
    m = np.zeros((24, 10, 10), dtype=bool)
    m[1:23, 1:9, 1:9] = True
    pred = m.copy()
    pred[1:15] = False  # the left part is missed
    clicks = next_clicks(_label(m), components_from_mask(pred), Clicks(), ClickSettings())
    miss = m & ~pred
    d = _edt(miss, (1, 1, 1))
    assert miss[clicks.lesion[0]]
    assert d[clicks.lesion[0]] == d.max()


def test_distances_are_in_millimetres_and_ties_go_to_raster_order():
    m = np.zeros((9, 9, 9), dtype=bool)
    m[2:7, 2:7, 2:7] = True
    iso = next_clicks(_label(m), None, Clicks(), ClickSettings()).lesion[0]
    assert iso == (4, 4, 4)
    # Thin voxels along z: every voxel of the middle z plane is equally deep
    # (0.6 mm); the first of them in (x, y, z) raster order wins.
    flat = next_clicks(_label(m, (1.0, 1.0, 0.2)), None, Clicks(), ClickSettings()).lesion[0]
    assert flat == (2, 2, 4)
    d = _edt(m, (1.0, 1.0, 0.2))
    assert d[flat] == pytest.approx(d.max())


def test_even_sized_lesion_breaks_the_tie_by_raster_order():
    m = np.zeros((8, 8, 8), dtype=bool)
    m[2:6, 2:6, 2:6] = True
    assert next_clicks(_label(m), None, Clicks(), ClickSettings()).lesion[0] == (3, 3, 3)


def test_random_lesions_match_the_brute_force_distance_transform():
    rng = np.random.default_rng(7)
    spacings = ((1.0, 1.0, 1.0), (0.7, 0.7, 2.5), (3.0, 0.5, 1.25))
    for seed in range(30):
        m = _blobs(rng, (18, 14, 10), int(rng.integers(1, 5)))
        if not m.any():
            continue
        spacing = spacings[seed % 3]
        point = next_clicks(_label(m, spacing), None, Clicks(), ClickSettings()).lesion[0]
        comps, _ = ndimage.label(m)
        sizes = np.bincount(comps.ravel())[1:]
        biggest = comps == (np.flatnonzero(sizes == sizes.max())[0] + 1)
        d = _edt(biggest, spacing)
        assert biggest[point], seed
        assert d[point] == pytest.approx(d.max(), rel=1e-6), seed


def test_earlier_clicks_count_as_boundary():
    m = np.zeros((12, 12, 12), dtype=bool)
    m[1:11, 1:11, 1:11] = True
    first = next_clicks(_label(m), None, Clicks(), ClickSettings())
    second = next_clicks(_label(m), None, first, ClickSettings())
    assert second.lesion[0] == first.lesion[0]
    assert second.lesion[1] != first.lesion[0]
    assert m[second.lesion[1]]
    assert len(set(static_clicks(_label(m), ClickSettings()).lesion)) == 10


def test_background_click_is_the_deepest_voxel_of_the_largest_false_positive():
    m = np.zeros((24, 12, 12), dtype=bool)
    m[2:6, 2:6, 2:6] = True
    pred = m.copy()
    pred[10:17, 3:10, 3:10] = True  # 343 spurious voxels
    pred[20:22, 1:3, 1:3] = True  # 8 spurious voxels
    clicks = next_clicks(_label(m), components_from_mask(pred), Clicks(), ClickSettings())
    assert clicks.background == ((13, 6, 6),)


def test_without_false_positives_the_background_click_lands_in_the_shell():
    m = np.zeros((60, 60, 40), dtype=bool)
    m[25:35, 25:35, 15:25] = True
    spacing = (0.8, 0.8, 1.5)
    label = _label(m, spacing)
    settings = ClickSettings(seed=3)
    distance = ndimage.distance_transform_edt(~m, sampling=spacing)
    points = static_clicks(label, settings).background
    assert len(points) == 10
    for p in points:
        assert not m[p]
        assert 5.0 <= distance[p] <= 25.0
    mm = np.array(points) * spacing
    gaps = np.sqrt(((mm[:, None] - mm[None]) ** 2).sum(-1)) + np.eye(10) * 1e9
    assert gaps.min() >= 5.0
    assert static_clicks(label, settings) == static_clicks(label, settings)
    assert static_clicks(label, ClickSettings(seed=4)).background != points


def test_an_empty_label_gets_background_clicks_only_in_the_middle_of_the_image():
    label = _label(np.zeros((40, 40, 20), dtype=bool))
    clicks = static_clicks(label, ClickSettings())
    assert clicks.lesion == ()
    assert len(clicks.background) == 10
    for x, y, z in clicks.background:
        assert 10 <= x < 30
        assert 10 <= y < 30
        assert 5 <= z < 15


def test_a_lesion_filling_the_image_leaves_no_background_click():
    label = _label(np.ones((3, 3, 3), dtype=bool))
    assert shell_click(label, (), ClickSettings()) is None


def test_static_clicks_visit_lesions_largest_first_then_refine():
    m = _two_lesions()
    m[14:17, 1:4, 1:4] = True  # 27 voxels
    clicks = static_clicks(_label(m), ClickSettings())
    assert clicks.lesion[0] == (5, 5, 5)
    assert 12 <= clicks.lesion[1][0] < 16
    assert 10 <= clicks.lesion[1][1] < 14
    assert clicks.lesion[2] == (15, 2, 2)
    assert len(clicks.lesion) == 10
    assert all(m[p] for p in clicks.lesion)
    assert len(set(clicks.lesion)) == 10


def test_static_clicks_equal_the_closed_loop_against_a_perfect_responder():
    rng = np.random.default_rng(11)
    for _ in range(8):
        m = _blobs(rng, (20, 16, 12), int(rng.integers(1, 7)))
        label = _label(m, (0.9, 0.9, 2.0))
        settings = ClickSettings(count=6, seed=5)
        comps, _ = ndimage.label(m)
        clicks, found = Clicks(), np.zeros_like(m)
        for _ in range(settings.count):
            clicks = next_clicks(label, components_from_mask(found), clicks, settings)
            if clicks.lesion:
                found |= comps == comps[clicks.lesion[-1]]
        assert clicks == static_clicks(label, settings)


def test_predictions_may_come_as_read_masks_or_components(tmp_path):
    m = _two_lesions()
    pred = np.zeros(m.shape, dtype=np.uint8)
    pred[2:9, 2:9, 2:9] = 1
    pred[0:2, 14:16, 0:2] = 1
    path = write_image(tmp_path / "p.nii.gz", pred)
    label = _label(m)
    read = read_lesions(path)
    a = next_clicks(label, read, Clicks(), ClickSettings())
    b = next_clicks(label, components_from_mask(pred == 1), Clicks(), ClickSettings())
    assert a == b
    assert a.background == ((0, 14, 0),)


def test_click_indices_are_the_file_axes_of_nibabel_and_simpleitk(tmp_path):
    m = np.zeros((30, 20, 10), dtype=np.uint8)
    m[3:9, 12:17, 2:5] = 1
    m[20:23, 2:4, 6:9] = 1
    path = write_image(tmp_path / "l.nii.gz", m, spacing=(0.8, 0.7, 2.5))
    clicks = static_clicks(LabelCase.read(path, case_id="l"), ClickSettings())
    by_nibabel = nibabel.load(path).get_fdata()
    by_sitk = SimpleITK.GetArrayFromImage(SimpleITK.ReadImage(str(path)))
    for x, y, z in clicks.lesion:
        assert by_nibabel[x, y, z] == 1
        assert by_sitk[z, y, x] == 1
    for x, y, z in clicks.background:
        assert by_nibabel[x, y, z] == 0
        assert by_sitk[z, y, x] == 0


def test_real_sample_label_gets_ten_clicks_of_each_kind_on_and_off_its_lesions():
    label = LabelCase.read(SAMPLE, case_id="venous_0")
    clicks = static_clicks(label, ClickSettings())
    assert len(clicks.lesion) == len(clicks.background) == 10
    comps = label.components
    ids = set(comps.component_at(np.asarray(clicks.lesion)).tolist())
    assert 0 not in ids
    assert len(ids) == comps.count


def test_settings_refuse_nonsense():
    assert ClickSettings.from_dict(ClickSettings(count=4, seed=9).to_dict()) == ClickSettings(
        count=4, seed=9
    )
    with pytest.raises(ValueError, match="unknown click setting"):
        ClickSettings.from_dict({"clicks": 10})
    for bad in (
        {"count": 101},
        {"count": True},
        {"seed": -1},
        {"background_min_mm": 30.0},
        {"background_max_mm": float("inf")},
    ):
        with pytest.raises(ValueError, match=r"click count|click seed|background shell"):
            ClickSettings.from_dict(bad)


def _definition(target, clicked, spacing):
    """The rule on full volumes: largest 6-connected component, first in raster order on ties."""
    comps, n = ndimage.label(target)
    if n == 0:
        return None, None
    sizes = np.bincount(comps.ravel())[1:]
    chosen = comps == (np.flatnonzero(sizes == sizes.max())[0] + 1)
    free = chosen.copy()
    for p in clicked:
        free[p] = False
    return chosen, _edt(free, spacing)


def test_random_errors_follow_the_definition_on_full_volumes():
    rng = np.random.default_rng(21)
    spacings = ((1.0, 1.0, 1.0), (0.7, 0.7, 2.5), (3.0, 0.5, 1.25))
    checked = 0
    for seed in range(60):
        shape = (16, 14, 10)
        label = _blobs(rng, shape, int(rng.integers(1, 5)))
        pred = _blobs(rng, shape, int(rng.integers(0, 5)))
        if rng.random() < 0.5:
            pred |= label & (rng.random(shape) < 0.7)
        spacing = spacings[seed % 3]
        case = _label(label, spacing)
        clicked = Clicks(lesion=((8, 7, 5),), background=((3, 3, 3),))
        got = next_clicks(case, components_from_mask(pred), clicked, ClickSettings())
        for kind, target in (("lesion", label & ~pred), ("background", pred & ~label)):
            chosen, depth = _definition(target, clicked.points, spacing)
            point = getattr(got, kind)[-1]
            if chosen is None or depth.max() == 0:
                continue  # a fallback applies
            checked += 1
            assert chosen[point], (seed, kind)
            assert depth[point] == pytest.approx(depth.max(), rel=1e-6), (seed, kind)
    assert checked > 60
