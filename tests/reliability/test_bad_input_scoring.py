"""The scorer's bad-input matrix: every hostile segmentation gets a specific error.

Corrupt, truncated and empty files, NaNs, non-integer floats, float labels,
huge declared dimensions (refused from the header, before a voxel is
allocated), a real gzip bomb, 2-D and vector images, wrong orientation.
Nothing is written anywhere: the temporary folder stays as it was.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import nibabel
import numpy as np
import pytest
import SimpleITK

from scoring.io import MAX_IMAGE_BYTES, read_lesions
from scoring.labelcase import LabelCase, LabelError
from scoring.metrics import score_case
from tests.reliability.niftis import (
    nifti_header,
    write_gzip_bomb,
    write_image,
    write_mha_header,
)

SHAPE = (6, 8, 10)  # z, y, x


def _lesion(dtype: type = np.uint8) -> np.ndarray:
    array = np.zeros(SHAPE, dtype=dtype)
    array[2:4, 3:5, 4:7] = 1
    return array


def _valid(tmp: Path) -> Path:
    return write_image(tmp / "valid.nii.gz", _lesion())


def _nan(tmp: Path) -> Path:
    array = _lesion(np.float32)
    array[0, 0, 0] = np.nan
    return write_image(tmp / "nan.mha", array)


def _inf(tmp: Path) -> Path:
    array = _lesion(np.float64)
    array[1, 1, 1] = np.inf
    return write_image(tmp / "inf.mha", array)


def _fractional(tmp: Path) -> Path:
    array = _lesion(np.float32)
    array[0, 0, 0] = 0.5
    return write_image(tmp / "half.nii.gz", array)


def _corrupt(tmp: Path) -> Path:
    path = tmp / "corrupt.nii.gz"
    path.write_bytes(os.urandom(4096))
    return path


def _not_gzip(tmp: Path) -> Path:
    path = tmp / "plain.nii.gz"
    path.write_bytes(b"this is a text file, not an image\n" * 20)
    return path


def _truncated_gz(tmp: Path) -> Path:
    rng = np.random.default_rng(0)
    full = write_image(tmp / "full.nii.gz", rng.integers(0, 2, (40, 40, 40), dtype=np.uint8))
    data = full.read_bytes()
    full.unlink()
    path = tmp / "truncated.nii.gz"
    path.write_bytes(data[: len(data) // 2])
    return path


def _truncated_nii(tmp: Path) -> Path:
    path = tmp / "truncated.nii"
    path.write_bytes(nifti_header((40, 40, 40)) + b"\0" * 1000)
    return path


def _header_only(tmp: Path) -> Path:
    path = tmp / "header.nii"
    path.write_bytes(nifti_header((64, 64, 64))[:200])
    return path


def _empty(tmp: Path) -> Path:
    path = tmp / "empty.nii.gz"
    path.write_bytes(b"")
    return path


def _huge_mha(tmp: Path) -> Path:
    return write_mha_header(tmp / "huge.mha", side=100_000)


def _huge_nifti(tmp: Path) -> Path:
    path = tmp / "huge.nii"
    path.write_bytes(nifti_header((32767, 32767, 32767)))
    return path


def _two_d(tmp: Path) -> Path:
    return write_image_2d(tmp / "flat.nii.gz")


def write_image_2d(path: Path) -> Path:
    SimpleITK.WriteImage(SimpleITK.GetImageFromArray(np.zeros((8, 8), np.uint8)), str(path))
    return path


def _vector(tmp: Path) -> Path:
    image = SimpleITK.GetImageFromArray(np.zeros((*SHAPE, 3), np.uint8), isVector=True)
    path = tmp / "rgb.nii.gz"
    SimpleITK.WriteImage(image, str(path))
    return path


def _wrong_type(tmp: Path) -> Path:
    path = tmp / "prediction.png"
    path.write_bytes(b"\x89PNG\r\n")
    return path


#: name -> (file maker, words the error must contain)
MATRIX: dict[str, tuple[Callable[[Path], Path], str]] = {
    "NaN voxel": (_nan, "NaN or infinite"),
    "infinite voxel": (_inf, "NaN or infinite"),
    "non-integer float": (_fractional, "not whole numbers"),
    "random bytes": (_corrupt, "cannot be read as an image"),
    "text named .nii.gz": (_not_gzip, "cannot be read as an image"),
    "truncated .nii.gz": (_truncated_gz, "the file is truncated or corrupt"),
    "truncated .nii": (_truncated_nii, "the file is truncated: 1352 bytes, but its header"),
    "header cut short": (_header_only, "cannot be read as an image"),
    "empty file": (_empty, "the file is empty"),
    "10^5 cubed declared (.mha)": (_huge_mha, "the header declares a 100000×100000×100000"),
    "32767 cubed declared (.nii)": (_huge_nifti, "the header declares a 32767×32767×32767"),
    "2-D image": (_two_d, "expected a 3-D image, got 2-D"),
    "vector image": (_vector, "expected one value per voxel, got 3"),
    "unsupported extension": (_wrong_type, "unsupported file type"),
}


@pytest.fixture
def quiet_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder that must stay empty (the scorer writes no temp files)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    return scratch


@pytest.mark.parametrize("case", list(MATRIX), ids=list(MATRIX))
def test_hostile_predictions_get_a_specific_error(
    tmp_path: Path, quiet_tmp: Path, case: str
) -> None:
    make, expected = MATRIX[case]
    files = tmp_path / "files"
    files.mkdir()
    label = LabelCase.read(_valid(files), case_id="c1")
    prediction = make(files)
    result = score_case(label, prediction)
    assert result.status == "invalid", result
    assert len(result.errors) == 1
    assert expected in result.errors[0], result.errors
    assert prediction.name in result.errors[0]  # the team is told which file
    assert list(quiet_tmp.iterdir()) == []


@pytest.mark.parametrize("case", ["NaN voxel", "non-integer float", "empty file", "random bytes"])
def test_hostile_labels_are_the_organisers_error(tmp_path: Path, case: str) -> None:
    make, expected = MATRIX[case]
    with pytest.raises(LabelError, match="label of case 'c1'") as raised:
        LabelCase.read(make(tmp_path), case_id="c1")
    assert expected in str(raised.value)


def test_float_labels_with_whole_values_are_read_as_integers(tmp_path: Path) -> None:
    as_float = LabelCase.read(write_image(tmp_path / "f.nii.gz", _lesion(np.float32)), case_id="c")
    as_int = LabelCase.read(_valid(tmp_path), case_id="c")
    assert as_float.components.count == as_int.components.count == 1
    result = score_case(as_float, tmp_path / "valid.nii.gz")
    assert result.status == "ok"


def test_a_gzip_bomb_is_refused_from_its_header_in_bounded_time(tmp_path: Path) -> None:
    """8 GiB of real zeros in an 8 MB .nii.gz: refused before decompressing the data."""
    bomb = tmp_path / "bomb.nii.gz"
    expanded = write_gzip_bomb(bomb)
    assert expanded > MAX_IMAGE_BYTES
    assert bomb.stat().st_size < expanded // 500
    label = LabelCase.read(_valid(tmp_path), case_id="c1")
    started = time.perf_counter()
    result = score_case(label, bomb)
    elapsed = time.perf_counter() - started
    assert result.status == "invalid"
    assert "the header declares a 2048×2048×2048 volume (8.0 GiB" in result.errors[0]
    assert elapsed < 2.0  # decompressing 8 GiB takes tens of seconds


def test_a_transposed_prediction_is_refused_and_a_flipped_one_warned(tmp_path: Path) -> None:
    label = LabelCase.read(_valid(tmp_path), case_id="c1")
    transposed = write_image(tmp_path / "t.nii.gz", np.ascontiguousarray(_lesion().transpose()))
    refused = score_case(label, transposed)
    assert refused.status == "invalid"
    assert "prediction shape (6, 8, 10) differs from the label's (10, 8, 6)" in refused.errors[0]
    flipped = write_image(tmp_path / "f.nii.gz", _lesion(), direction=(-1, 0, 0, 0, -1, 0, 0, 0, 1))
    warned = score_case(label, flipped)
    assert warned.status == "ok"
    assert any("direction" in w and "differs from the label's" in w for w in warned.warnings)


def test_reading_stays_within_the_byte_limit_for_a_real_volume(tmp_path: Path) -> None:
    """The control: a full-size TriALS-like header is well inside the limit."""
    assert MAX_IMAGE_BYTES > 512 * 512 * 637 * 8
    lesions = read_lesions(_valid(tmp_path))
    assert lesions.count == 2 * 2 * 3


def test_a_truncated_multi_member_gzip_is_caught_by_decompressing(tmp_path: Path) -> None:
    """A .nii.gz of several gzip members (e.g. bgzip): the trailer size alone cannot tell."""
    whole = write_image(tmp_path / "whole.nii", _lesion()).read_bytes()
    half = len(whole) // 2
    members = gzip.compress(whole[:half]) + gzip.compress(whole[half:])
    good = tmp_path / "members.nii.gz"
    good.write_bytes(members)
    assert read_lesions(good).count == 12
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(gzip.compress(whole[:half]) + gzip.compress(whole[half:-100]))
    label = LabelCase.read(_valid(tmp_path), case_id="c1")
    result = score_case(label, cut)
    assert result.status == "invalid"
    assert "cut.nii.gz: the file is truncated: it unpacks to" in result.errors[0]


def test_nan_in_a_nifti_file_reads_as_background(tmp_path: Path) -> None:
    """A known limit, pinned: SimpleITK's NIfTI reader turns NaN into 0.

    So a NaN in a ``.nii``/``.nii.gz`` counts as background, as it does in the
    reference evaluator (nibabel's ``astype(np.int8)`` of NaN is 0 on x86);
    NaN in ``.mha`` reaches the scorer and is refused (see the matrix). If
    SimpleITK ever passes NaN through, this fails and the NIfTI case joins the
    matrix.
    """
    array = _lesion(np.float32)
    array[0, 0, 0] = np.nan
    path = write_image(tmp_path / "nan.nii.gz", array)
    assert np.isnan(np.asarray(nibabel.load(path).dataobj)).sum() == 1  # it is in the file
    assert read_lesions(path).count == 12
