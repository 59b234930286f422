"""Component numbering: cc3d's labels are the reference's (scipy on the nibabel-order array).

The slab size is shrunk in some tests so slab boundaries fall inside components.
"""

from __future__ import annotations

import cc3d
import numpy as np
import pytest
from scipy import ndimage

import scoring.io
import scoring.lesions
from scoring.io import read_lesions
from scoring.lesions import components_from_mask, raster_numbered, renumber_raster
from tests.scoring.generators import write_image

FULL = ((0, 9), (0, 8), (0, 7))


def _dense(components) -> np.ndarray:
    out = np.zeros((9, 8, 7), dtype=np.int64)
    for k in range(1, components.count + 1):
        out[components.mask([k], FULL)] = k
    return out


@pytest.mark.parametrize("slab", [1 << 23, 5])
def test_components_are_numbered_as_scipy_numbers_them(monkeypatch, slab) -> None:
    monkeypatch.setattr(scoring.lesions, "_SLAB_VOXELS", slab)
    rng = np.random.default_rng(7)
    for _ in range(40):
        mask = rng.random((9, 8, 7)) < rng.uniform(0.1, 0.5)
        expected, n = ndimage.label(mask)
        components = components_from_mask(mask)
        assert components.count == n
        assert np.array_equal(_dense(components), expected)
        assert components.sizes.tolist() == np.bincount(expected.ravel())[1:].tolist()
        for k, box in enumerate(components.boxes, start=1):
            slices = ndimage.find_objects(expected)[k - 1]
            assert box.tolist() == [[s.start, s.stop] for s in slices]


@pytest.mark.parametrize("slab", [1 << 23, 3])
def test_a_scrambled_numbering_is_detected_and_renumbered(monkeypatch, slab) -> None:
    monkeypatch.setattr(scoring.lesions, "_SLAB_VOXELS", slab)
    rng = np.random.default_rng(3)
    for _ in range(20):
        mask = rng.random((6, 5, 4)) < 0.3
        expected, n = ndimage.label(mask)
        if n < 3:
            continue
        permutation = np.concatenate(([0], rng.permutation(n) + 1))
        scrambled = permutation[expected]
        assert raster_numbered(expected)
        assert raster_numbered(scrambled) == bool(np.all(permutation == np.arange(n + 1)))
        assert np.array_equal(renumber_raster(scrambled), expected)


def test_cc3d_numbers_c_ordered_crops_in_raster_order() -> None:
    # What makes the renumbering pass rare; if cc3d changes, the check above still
    # catches it and renumbers, so this documents speed, not correctness.
    rng = np.random.default_rng(11)
    mask = rng.random((20, 18, 16)) < 0.3
    assert raster_numbered(cc3d.connected_components(mask, connectivity=6))


def test_reading_in_small_slabs_gives_the_same_crop(tmp_path, monkeypatch) -> None:
    rng = np.random.default_rng(5)
    array = np.zeros((9, 8, 7), dtype=np.uint8)
    array[2:7, 1:6, 3:7] = rng.random((5, 5, 4)) < 0.5
    array[4, 3, 5] = 1
    path = write_image(tmp_path / "a.nii.gz", array)
    whole = read_lesions(path)
    monkeypatch.setattr(scoring.io, "_SLAB_VOXELS", 10)
    sliced = read_lesions(path)
    assert whole.offset == sliced.offset == (2, 1, 3)
    assert whole.count == sliced.count == int((array == 1).sum())
    assert np.array_equal(whole.mask, sliced.mask)
    assert np.array_equal(whole.mask, array[2:7, 1:6, 3:7] == 1)


def test_dense_and_sparse_slabs_find_the_same_box(tmp_path, monkeypatch) -> None:
    full = np.ones((6, 5, 4), dtype=np.uint8)
    whole = read_lesions(write_image(tmp_path / "full.nii.gz", full))
    assert (whole.offset, whole.mask.shape, whole.count) == ((0, 0, 0), (6, 5, 4), 120)
    corner = np.zeros((6, 5, 4), dtype=np.uint8)
    corner[5, 4, 3] = corner[5, 3, 3] = 1
    path = write_image(tmp_path / "corner.nii.gz", corner)
    for slab in (1 << 23, 1):
        monkeypatch.setattr(scoring.io, "_SLAB_VOXELS", slab)
        found = read_lesions(path)
        assert (found.offset, found.mask.shape, found.count) == ((5, 3, 3), (1, 2, 1), 2)
