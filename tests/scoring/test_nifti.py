"""The streamed NIfTI reader gives SimpleITK's voxels, or leaves the file to SimpleITK."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import nibabel
import numpy as np
import pytest
import SimpleITK

import scoring.nifti
from scoring.errors import CaseInputError
from scoring.io import read_lesions
from scoring.nifti import read_voxels
from tests.scoring.generators import write_image

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "trials-sample"
INTEGERS = [np.uint8, np.int8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]


def _sitk(path: Path) -> tuple[np.ndarray, tuple[int, int, int], np.dtype]:
    image = SimpleITK.ReadImage(str(path))
    array = SimpleITK.GetArrayFromImage(image)
    size = image.GetSize()
    return array, (size[0], size[1], size[2]), array.dtype


def _streamed(path: Path) -> np.ndarray | None:
    _, size, dtype = _sitk(path)
    with read_voxels(path, size_xyz=size, dtype=dtype) as voxels:
        return None if voxels is None else voxels.copy()


def _volume(dtype: type, shape: tuple[int, int, int] = (13, 11, 7)) -> np.ndarray:
    rng = np.random.default_rng(3)
    info = np.iinfo(dtype)
    return rng.integers(max(info.min, -300), min(info.max, 300), size=shape).astype(dtype)


@pytest.mark.parametrize("suffix", [".nii.gz", ".nii"])
@pytest.mark.parametrize("dtype", INTEGERS)
def test_integer_files_stream_to_simpleitks_voxels(tmp_path, dtype, suffix) -> None:
    path = write_image(tmp_path / f"v{suffix}", _volume(dtype))
    expected, _, _ = _sitk(path)
    got = _streamed(path)
    assert got is not None
    assert got.dtype == expected.dtype
    assert np.array_equal(got, expected)


def test_the_sample_cases_stream_to_simpleitks_voxels() -> None:
    for path in sorted(SAMPLE.glob("*/*.nii.gz")):
        expected, _, _ = _sitk(path)
        got = _streamed(path)
        assert got is not None, path
        assert np.array_equal(got, expected), path


def _nii_bytes(tmp_path: Path, array: np.ndarray) -> bytes:
    return write_image(tmp_path / "plain.nii", array).read_bytes()


def test_a_header_extension_and_several_gzip_members_are_read(tmp_path) -> None:
    array = _volume(np.int16, (40, 30, 20))
    raw = bytearray(_nii_bytes(tmp_path, array))
    # A 32-byte extension (code 0) between the header and the voxels, vox_offset moved.
    raw[348] = 1
    extension = struct.pack("<ii", 32, 0) + b"x" * 24
    raw = raw[:352] + extension + raw[352:]
    struct.pack_into("<f", raw, 108, 352.0 + len(extension))
    path = tmp_path / "ext.nii.gz"
    half = len(raw) // 2
    path.write_bytes(gzip.compress(bytes(raw[:half])) + gzip.compress(bytes(raw[half:])))
    expected, _, _ = _sitk(path)
    assert np.array_equal(expected, array.transpose(2, 1, 0))  # SimpleITK reads it so too
    got = _streamed(path)
    assert got is not None
    assert np.array_equal(got, expected)


def test_what_it_does_not_read_is_left_to_simpleitk(tmp_path) -> None:
    array = _volume(np.int16)
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    big = nibabel.Nifti1Image(array, affine, nibabel.Nifti1Header(endianness=">"))
    scaled = nibabel.Nifti1Image(array, affine)
    scaled.header.set_slope_inter(2.0, 0.0)
    floats = write_image(tmp_path / "f.nii.gz", array.astype(np.float32))
    files = {
        "big-endian": tmp_path / "big.nii.gz",
        "scaled": tmp_path / "scaled.nii.gz",
        "float": floats,
        "mha": write_image(tmp_path / "v.mha", array),
    }
    nibabel.save(big, files["big-endian"])
    nibabel.save(scaled, files["scaled"])
    for name, path in files.items():
        assert _streamed(path) is None, name
        found = read_lesions(path)  # still read, by SimpleITK
        expected = SimpleITK.GetArrayFromImage(SimpleITK.ReadImage(str(path)))
        assert found.count == int((expected == 1).sum()), name


def test_a_truncated_or_corrupt_stream_is_refused(tmp_path) -> None:
    array = np.zeros((60, 50, 40), dtype=np.uint8)
    array[10:20, 10:20, 10:20] = 1
    raw = _nii_bytes(tmp_path, array)
    short = tmp_path / "short.nii.gz"
    short.write_bytes(gzip.compress(raw[: len(raw) // 2]))  # a whole gzip of half the voxels
    with pytest.raises(CaseInputError, match="truncated"):
        read_lesions(short)
    packed = bytearray(gzip.compress(raw))
    packed[len(packed) // 2 : len(packed) // 2 + 8] = b"\xff" * 8
    corrupt = tmp_path / "corrupt.nii.gz"
    corrupt.write_bytes(bytes(packed))
    with pytest.raises(CaseInputError, match=r"corrupt|truncated"):
        read_lesions(corrupt)


def test_the_buffer_is_reused_and_nothing_read_keeps_a_view_of_it(tmp_path) -> None:
    scoring.nifti.release_buffers()
    array = np.zeros((30, 20, 10), dtype=np.uint8)
    array[3:9, 4:8, 2:5] = 1
    array[20:25, 10:15, 5:9] = 1
    first_path = write_image(tmp_path / "a.nii.gz", array)
    second = array.copy()
    second[:] = 0
    second[0:2, 0:2, 0:2] = 1
    second_path = write_image(tmp_path / "b.nii.gz", second)

    size = (30, 20, 10)
    with read_voxels(first_path, size_xyz=size, dtype=np.dtype(np.uint8)) as voxels:
        assert voxels is not None
        held = voxels.base
    first = read_lesions(first_path)
    read_lesions(second_path)  # the same buffer, overwritten
    with read_voxels(first_path, size_xyz=size, dtype=np.dtype(np.uint8)) as voxels:
        assert voxels is not None
        assert np.shares_memory(voxels, held)  # reused, not allocated again
    assert first.count == int(array.sum())
    assert np.array_equal(first.mask, array[3:25, 4:15, 2:9] == 1)
    for piece in first.pieces:
        assert not np.shares_memory(piece.mask, held)
    scoring.nifti.release_buffers()


def test_a_nibabel_file_streams_and_a_non_finite_slope_means_unscaled(tmp_path) -> None:
    array = _volume(np.uint8, (9, 8, 7))
    path = tmp_path / "nib.nii.gz"
    nibabel.save(nibabel.Nifti1Image(array, np.eye(4)), path)
    raw = bytearray(gzip.decompress(path.read_bytes()))
    struct.pack_into("<2f", raw, 112, float("nan"), float("nan"))  # scl_slope, scl_inter
    nan_path = tmp_path / "nan-slope.nii.gz"
    nan_path.write_bytes(gzip.compress(bytes(raw)))
    for file in (path, nan_path):
        expected, _, _ = _sitk(file)
        assert expected.dtype == np.uint8  # SimpleITK does not scale it either
        got = _streamed(file)
        assert got is not None
        assert np.array_equal(got, expected)
        assert np.array_equal(got, array.transpose(2, 1, 0))


def _count_many(path: str) -> list[int]:
    return [read_lesions(Path(path)).count for _ in range(20)]


def test_forked_scoring_processes_do_not_share_the_parents_buffer(tmp_path) -> None:
    """``podium-score --jobs`` forks after the parent has read (its buffer is in the pool)."""
    import multiprocessing  # noqa: PLC0415
    from concurrent.futures import ProcessPoolExecutor  # noqa: PLC0415

    files = []
    for i in range(2):
        array = np.zeros((40, 40, 40), dtype=np.uint8)
        array[: 5 + 10 * i, :10, :10] = 1
        files.append(str(write_image(tmp_path / f"{i}.nii.gz", array)))
    read_lesions(Path(files[0]))  # the parent's buffer, kept
    fork = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=2, mp_context=fork) as pool:
        counts = list(pool.map(_count_many, files))
    assert counts == [[500] * 20, [1500] * 20]
