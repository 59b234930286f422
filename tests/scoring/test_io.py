"""Reading files: formats, axis order, value rules and geometry checks, per case."""

from __future__ import annotations

import gzip
import pickle

import nibabel  # the reference's reader, a dev dependency
import numpy as np
import pytest
import SimpleITK
from scipy import ndimage

from scoring.errors import CaseInputError
from scoring.io import read_lesions
from scoring.labelcase import LabelCase, LabelError, read_cached
from scoring.lesions import label_components
from scoring.metrics import score_case
from tests.scoring.generators import write_image


def _label(tmp_path, *, spacing=(0.8, 0.8, 2.0), mode="paper") -> LabelCase:
    array = np.zeros((6, 5, 4), dtype=np.uint8)
    array[1:4, 1:3, 1:3] = 1
    path = write_image(tmp_path / "label.nii.gz", array, spacing=spacing)
    return LabelCase.read(path, case_id="c1", mode=mode)


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii", ".mha"])
def test_formats_read_in_xyz_order_with_matching_spacing(tmp_path, suffix) -> None:
    array = np.zeros((5, 4, 3), dtype=np.uint8)  # (x, y, z), all sizes distinct
    array[4, 0, 0] = 1
    array[0, 3, 2] = 1
    array[0, 0, 1] = 1
    path = write_image(tmp_path / f"img{suffix}", array, spacing=(0.5, 0.75, 2.5))
    voxels = read_lesions(path)
    assert voxels.geometry.shape == (5, 4, 3)
    assert voxels.geometry.spacing == (0.5, 0.75, 2.5)
    assert (voxels.offset, voxels.mask.shape, voxels.count) == ((0, 0, 0), (5, 4, 3), 3)
    assert np.argwhere(voxels.mask).tolist() == [[0, 0, 1], [0, 3, 2], [4, 0, 0]]
    # Component numbering matches scipy's on the nibabel-order array.
    expected, _ = ndimage.label(array == 1)
    components = label_components(voxels.mask, voxels.offset)
    full = ((0, 5), (0, 4), (0, 3))
    for k in (1, 2, 3):
        assert np.array_equal(components.mask([k], full), expected == k)


def test_values_other_than_one_are_not_lesion_and_are_reported(tmp_path) -> None:
    array = np.array([[[0, 1, 2, 255]]], dtype=np.uint8)
    found = read_lesions(write_image(tmp_path / "a.nii.gz", array))
    assert (found.count, found.other) == (1, 2)
    assert found.warnings == [
        "a.nii.gz: 2 voxel(s) hold values other than 0 and 1; only 1 counts as lesion"
    ]
    label = LabelCase.read(write_image(tmp_path / "l.nii.gz", array), case_id="c1")
    assert label.warnings == [f"label of case 'c1': l{found.warnings[0][1:]}"]
    result = score_case(label, tmp_path / "a.nii.gz")
    assert result.warnings[-1] == found.warnings[0]
    assert result.dice == 1.0


def test_non_integer_floats_make_the_case_invalid(tmp_path) -> None:
    label = _label(tmp_path)
    pred = np.zeros((6, 5, 4), dtype=np.float32)
    pred[1:4, 1:3, 1:3] = 0.7
    path = write_image(tmp_path / "c1.nii.gz", pred, spacing=(0.8, 0.8, 2.0))
    result = score_case(label, path)
    assert result.status == "invalid"
    assert "not whole numbers" in result.errors[0]
    assert result.fn_50 == 1  # scored as an empty prediction


def test_whole_number_floats_are_accepted(tmp_path) -> None:
    label = _label(tmp_path)
    pred = np.zeros((6, 5, 4), dtype=np.float64)
    pred[1:4, 1:3, 1:3] = 1.0
    result = score_case(label, write_image(tmp_path / "c1.nii.gz", pred, spacing=(0.8, 0.8, 2.0)))
    assert (result.status, result.tp_50, result.dice) == ("ok", 1, 1.0)


def test_reference_mode_replicates_the_int8_cast(tmp_path) -> None:
    floats = np.array([[[0.99, 1.5, 257.0, -255.0, 2.0, 255.0]]], dtype=np.float32)
    path = write_image(tmp_path / "f.nii.gz", floats)
    # trunc then wrap: 0.99→0, 1.5→1, 257→1, -255→1, 2→2, 255→-1
    cast = read_lesions(path, mode="reference")
    assert (cast.offset, cast.mask.ravel().tolist()) == ((0, 0, 1), [True, True, True])
    with pytest.raises(CaseInputError, match="not whole numbers"):
        read_lesions(path, mode="paper")
    wide = np.array([[[1, 257, 513, 2]]], dtype=np.uint16)
    wide_path = write_image(tmp_path / "w.nii.gz", wide)
    assert read_lesions(wide_path, mode="reference").count == 3
    assert read_lesions(wide_path, mode="paper").count == 1


def test_shape_mismatch_makes_the_case_invalid(tmp_path) -> None:
    label = _label(tmp_path)
    pred = np.zeros((6, 5, 5), dtype=np.uint8)
    result = score_case(label, write_image(tmp_path / "c1.nii.gz", pred))
    assert result.status == "invalid"
    assert "shape (6, 5, 5) differs from the label's (6, 5, 4)" in result.errors[0]


def test_header_differences_are_warnings_and_the_label_spacing_is_used(tmp_path) -> None:
    label = _label(tmp_path, spacing=(0.8, 0.8, 2.0))
    pred = np.zeros((6, 5, 4), dtype=np.uint8)
    pred[1:4, 1:3, 1:3] = 1
    pred[1:4, 1:3, 3] = 1
    path = write_image(tmp_path / "c1.nii.gz", pred, spacing=(1.0, 1.0, 1.0), origin=(5, 0, 0))
    result = score_case(label, path)
    assert result.status == "ok"
    assert any("spacing" in w for w in result.warnings)
    assert any("origin" in w for w in result.warnings)
    assert result.lesions[0]["msd"] == pytest.approx(2.0)  # one voxel along z at 2.0 mm


def test_corrupt_file_makes_the_case_invalid(tmp_path) -> None:
    label = _label(tmp_path)
    path = tmp_path / "c1.nii.gz"
    path.write_bytes(gzip.compress(b"this is not a NIfTI file" * 20))
    result = score_case(label, path)
    assert result.status == "invalid"
    assert result.errors[0] == (
        "case 'c1': c1.nii.gz: cannot be read as an image "
        '(Unable to determine ImageIO reader for "c1.nii.gz")'
    )
    truncated = tmp_path / "c2.nii.gz"
    good = write_image(tmp_path / "good.nii.gz", np.ones((6, 5, 4), dtype=np.uint8))
    truncated.write_bytes(good.read_bytes()[:60])
    assert score_case(label, truncated).status == "invalid"


def test_two_dimensional_and_vector_images_are_invalid(tmp_path) -> None:
    label = _label(tmp_path)
    flat = tmp_path / "flat.nii.gz"
    SimpleITK.WriteImage(SimpleITK.GetImageFromArray(np.ones((5, 6), dtype=np.uint8)), str(flat))
    assert "3-D" in score_case(label, flat).errors[0]
    vector = tmp_path / "vector.mha"
    data = np.ones((4, 5, 6, 3), dtype=np.uint8)
    SimpleITK.WriteImage(SimpleITK.GetImageFromArray(data, isVector=True), str(vector))
    assert "one value per voxel" in score_case(label, vector).errors[0]


def test_unreadable_label_raises_label_error(tmp_path) -> None:
    path = tmp_path / "bad.nii.gz"
    path.write_bytes(b"garbage")
    with pytest.raises(LabelError, match="label of case 'c9'"):
        LabelCase.read(path, case_id="c9")
    with pytest.raises(LabelError, match="file not found"):
        LabelCase.read(tmp_path / "absent.nii.gz", case_id="c9")


def test_label_case_is_picklable_and_its_surfaces_are_reused(tmp_path) -> None:
    label = _label(tmp_path)
    label.prepare_surfaces()
    copy = pickle.loads(pickle.dumps(label))
    pred = np.zeros((6, 5, 4), dtype=np.uint8)
    pred[1:4, 1:3, 1:3] = 1
    first = score_case(copy, write_image(tmp_path / "c1.nii.gz", pred, spacing=(0.8, 0.8, 2.0)))
    cached = copy.surface((1,))
    pred[1, 1, 1] = 0
    second = score_case(copy, write_image(tmp_path / "c2.nii.gz", pred, spacing=(0.8, 0.8, 2.0)))
    assert copy.surface((1,)) is cached
    assert first.lesions[0]["dice"] == 1.0
    assert second.lesions[0]["dice"] < 1.0


@pytest.mark.parametrize(
    "affine",
    [
        np.diag([-0.8, 0.9, 2.5, 1.0]),  # flipped x
        np.array([[0, 0, 2.5, 1], [0.8, 0, 0, 2], [0, 0.9, 0, 3], [0, 0, 0, 1.0]]),  # permuted
        np.array([[0.7, 0.1, 0, 0], [-0.1, 0.7, 0, 0], [0, 0, 2, 0], [0, 0, 0, 1.0]]),  # oblique
    ],
    ids=["flipped", "permuted", "oblique"],
)
def test_components_and_spacing_match_what_the_reference_gets_from_nibabel(tmp_path, affine):
    rng = np.random.default_rng(1)
    array = (rng.random((7, 6, 5)) < 0.35).astype(np.uint8)
    path = tmp_path / "c.nii.gz"
    nibabel.save(nibabel.Nifti1Image(array, affine), path)
    loaded = nibabel.load(path)
    expected, n = ndimage.label(np.asanyarray(loaded.dataobj) == 1)
    found = read_lesions(path)
    components = label_components(found.mask, found.offset)
    assert components.count == n
    full = ((0, 7), (0, 6), (0, 5))
    for k in range(1, n + 1):
        assert np.array_equal(components.mask([k], full), expected == k)
    assert found.geometry.spacing == pytest.approx(
        [float(z) for z in loaded.header.get_zooms()[:3]], abs=0
    )


def test_label_cache_survives_a_damaged_entry(tmp_path) -> None:
    array = np.zeros((6, 5, 4), dtype=np.uint8)
    array[1:3, 1:3, 1:3] = 1
    path = write_image(tmp_path / "l.nii.gz", array)
    cache = tmp_path / "cache"
    first = read_cached(path, case_id="c1", cache_dir=cache)
    [entry] = cache.glob("*.pickle")
    entry.write_bytes(b"not a pickle")
    again = read_cached(path, case_id="c2", cache_dir=cache)
    assert again.case_id == "c2"
    assert again.components.sizes.tolist() == first.components.sizes.tolist() == [8]
    assert read_cached(path, case_id="c3", cache_dir=cache).components.count == 1
    with pytest.raises(LabelError, match="file not found"):
        read_cached(tmp_path / "absent.nii.gz", case_id="c4", cache_dir=cache)
