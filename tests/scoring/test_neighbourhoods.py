"""Lesion neighbourhoods: crops per group of nearby lesions, numbered as one volume would be.

The grid cell (``BLOCK``) and the piece limit (``MAX_PIECES``) are shrunk so the
small generated cases split into many pieces, with boxes that reach into each
other, ties on the first x plane across pieces, and coarsening.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

import scoring.components
import scoring.io
import scoring.neighbourhoods
from scoring.components import label_pieces
from scoring.io import read_lesions
from scoring.labelcase import LabelCase
from scoring.lesions import components_from_mask, intersection_table
from scoring.neighbourhoods import find_pieces, occupied_rows
from tests.scoring.generators import fast_case, random_case, write_image
from tests.scoring.oracle import oracle_case
from tests.scoring.test_oracle import assert_agree

GRIDS = [(1, 10_000), (1, 3), (2, 10_000), (3, 4)]


def _dense(components, shape) -> np.ndarray:
    full = tuple((0, s) for s in shape)
    out = np.zeros(shape, dtype=np.int64)
    for k in range(1, components.count + 1):
        out[components.mask([k], full)] = k
    return out


@pytest.fixture(params=GRIDS, ids=[f"block{b}-max{m}" for b, m in GRIDS])
def small_grid(request, monkeypatch):
    block, most = request.param
    monkeypatch.setattr(scoring.neighbourhoods, "BLOCK", block)
    monkeypatch.setattr(scoring.neighbourhoods, "MAX_PIECES", most)
    return block, most


def test_many_pieces_agree_with_the_oracle_and_with_scipy(small_grid) -> None:
    split = 0
    for seed in range(0, 240, 8):
        pred, label, spacing = random_case(seed)
        for mode in ("paper", "reference"):
            fast = fast_case(pred, label, spacing=spacing, mode=mode)
            slow = oracle_case(pred, label, spacing=spacing, mode=mode)
            assert_agree(fast, slow, f"seed {seed} {mode} grid {small_grid}")
        components = components_from_mask(pred == 1)
        expected, n = ndimage.label(pred == 1)
        assert components.count == n
        assert np.array_equal(_dense(components, pred.shape), expected), seed
        assert components.sizes.tolist() == np.bincount(expected.ravel())[1:].tolist()
        for k, box in enumerate(components.boxes, start=1):
            slices = ndimage.find_objects(expected)[k - 1]
            assert box.tolist() == [[s.start, s.stop] for s in slices]
        assert len(components.regions) <= small_grid[1]
        labelled = components_from_mask(label == 1)
        split += (len(components.regions) > 1) + (len(labelled.regions) > 1)
    assert split >= 4  # the grids above must really split the cases


@pytest.mark.parametrize("plane_cost", [0, 1_000_000], ids=["by-voxels", "by-planes"])
def test_ties_on_the_first_plane_are_broken_across_pieces(monkeypatch, plane_cost) -> None:
    monkeypatch.setattr(scoring.neighbourhoods, "BLOCK", 1)
    monkeypatch.setattr(scoring.components, "PLANE_COST", plane_cost)
    monkeypatch.setattr(scoring.components, "_SLAB_VOXELS", 7)  # lesion voxels in slabs
    mask = np.zeros((3, 9, 9), dtype=bool)  # (x, y, z)
    mask[0, 6, 0] = True  # x = 0, late in y
    mask[0, 2, 5:8] = True  # x = 0, early in y, later in z
    mask[0, 2, 2] = True  # x = 0, same y, earliest z
    mask[1:3, 8, 8] = True  # x = 1
    components = components_from_mask(mask)
    assert len(components.regions) == 4
    expected, _ = ndimage.label(mask)
    assert np.array_equal(_dense(components, mask.shape), expected)
    rng = np.random.default_rng(8)
    for block in (1, 8):  # many ties inside one piece, and across pieces
        monkeypatch.setattr(scoring.neighbourhoods, "BLOCK", block)
        for _ in range(10):
            noise = rng.random((7, 9, 8)) < 0.3
            expected, _ = ndimage.label(noise)
            assert np.array_equal(_dense(components_from_mask(noise), noise.shape), expected)


def test_far_apart_lesions_cost_their_own_volume(monkeypatch) -> None:
    volume = np.zeros((300, 200, 200), dtype=np.uint8)  # (z, y, x)
    volume[2:6, 3:7, 4:8] = 1
    volume[290:297, 190:195, 180:186] = 1
    volume[150, 100, 100] = 1
    scan = find_pieces(volume, lesion=lambda s, out: np.equal(s, 1, out=out), slab_voxels=1 << 16)
    assert scan.count == 64 + 210 + 1
    assert sum(p.mask.size for p in scan.pieces) == scan.count  # tight crops, no box between
    components = label_pieces(scan.pieces)
    assert components.count == 3
    assert components.boxes[:, :, 0].tolist() == [[4, 3, 2], [100, 100, 150], [180, 190, 290]]


def test_coarsening_keeps_every_voxel_and_bounds_the_pieces(monkeypatch) -> None:
    monkeypatch.setattr(scoring.neighbourhoods, "MAX_PIECES", 4)
    rng = np.random.default_rng(2)
    volume = (rng.random((60, 50, 40)) < 0.001).astype(np.uint8)
    scan = find_pieces(volume, lesion=lambda s, out: np.equal(s, 1, out=out), slab_voxels=4000)
    assert len(scan.pieces) <= 4
    assert scan.count == int(volume.sum()) == sum(int(p.mask.sum()) for p in scan.pieces)


@pytest.mark.parametrize(
    ("dtype", "shape"), [(np.uint8, (5, 7, 9)), (np.float32, (4, 3, 3)), (np.int16, (6, 8, 8))]
)
def test_occupied_rows_find_every_nonzero_byte(dtype, shape) -> None:
    rng = np.random.default_rng(4)
    for _ in range(20):
        volume = np.zeros(shape, dtype=dtype)
        for z in rng.choice(shape[0], size=2, replace=False):
            volume[z, rng.integers(shape[1]), rng.integers(shape[2])] = 1
        expected = volume.any(axis=2)
        for slab in (1, 17, 1 << 20):
            assert np.array_equal(occupied_rows(volume, slab_voxels=slab), expected)
    negative_zero = np.zeros((2, 3, 3), dtype=np.float32)
    negative_zero[1, 2, 0] = -0.0  # a byte that is not zero: looked at, found empty
    assert np.argwhere(occupied_rows(negative_zero, slab_voxels=4)).tolist() == [[1, 2]]
    assert find_pieces(negative_zero, lesion=lambda s, out: s == 1, slab_voxels=4).count == 0


def test_reading_with_tiny_slabs_and_cells_equals_the_volume(tmp_path, monkeypatch) -> None:
    rng = np.random.default_rng(9)
    array = (rng.random((13, 11, 9)) < 0.08).astype(np.uint8)  # (x, y, z)
    array[rng.random(array.shape) < 0.02] = 3
    path = write_image(tmp_path / "a.nii.gz", array)
    whole = read_lesions(path)
    monkeypatch.setattr(scoring.io, "_SLAB_VOXELS", 7)
    monkeypatch.setattr(scoring.neighbourhoods, "BLOCK", 1)
    monkeypatch.setattr(scoring.neighbourhoods, "MAX_PIECES", 6)
    sliced = read_lesions(path)
    assert len(sliced.pieces) > 1
    assert (
        (sliced.count, sliced.other)
        == (whole.count, whole.other)
        == (
            int((array == 1).sum()),
            int((array == 3).sum()),
        )
    )
    assert sliced.offset == whole.offset
    assert np.array_equal(sliced.mask, whole.mask)
    expected, _ = ndimage.label(array == 1)
    assert np.array_equal(_dense(label_pieces(sliced.pieces), array.shape), expected)


def test_intersections_across_pieces_match_a_plain_count(monkeypatch) -> None:
    monkeypatch.setattr(scoring.neighbourhoods, "BLOCK", 1)
    for seed in range(30):
        pred, label, _ = random_case(seed)
        p, g = components_from_mask(pred == 1), LabelCase.from_mask(label == 1, case_id="c")
        dense_p, dense_g = _dense(p, pred.shape), _dense(g.components, label.shape)
        both = (dense_p > 0) & (dense_g > 0)
        pairs, counts = np.unique(
            np.stack([dense_p[both], dense_g[both]], axis=1), axis=0, return_counts=True
        )
        expected = {(int(a), int(b)): int(c) for (a, b), c in zip(pairs, counts, strict=True)}
        assert intersection_table(p, g.components) == expected, seed
