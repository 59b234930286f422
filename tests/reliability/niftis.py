"""Hostile segmentation files, written byte by byte where a library would refuse to."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import nibabel
import numpy as np
import numpy.typing as npt
import SimpleITK


def write_image(
    path: Path,
    array: npt.NDArray[np.generic],
    *,
    spacing: tuple[float, float, float] = (1.0, 1.0, 2.0),
    direction: tuple[float, ...] = (1, 0, 0, 0, 1, 0, 0, 0, 1),
) -> Path:
    """Write ``array`` (indexed z, y, x) with SimpleITK."""
    image = SimpleITK.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetDirection(direction)
    SimpleITK.WriteImage(image, str(path))
    return path


def nifti_header(shape: tuple[int, int, int], dtype: type = np.uint8) -> bytes:
    """A NIfTI-1 header (348 bytes) plus the 4-byte extension flag, declaring ``shape``."""
    header = nibabel.Nifti1Header()
    header.set_data_shape(shape)
    header.set_data_dtype(dtype)
    header["vox_offset"] = 352
    return header.binaryblock + b"\0\0\0\0"


def write_gzip_bomb(path: Path, *, side: int = 2048, block_mib: int = 64) -> int:
    """A ``.nii.gz`` whose every declared voxel is really there: ``side``³ zero bytes.

    Concatenated gzip members (a valid gzip file) of one compressed zero block,
    so writing 8 GiB of expansion costs one 64 MiB compression. Returns the
    expanded size in bytes.
    """
    block = b"\0" * (block_mib << 20)
    member = gzip.compress(block, compresslevel=9)
    total = side**3
    with path.open("wb") as out:
        out.write(gzip.compress(nifti_header((side, side, side)), compresslevel=9))
        for _ in range(total // len(block)):
            out.write(member)
        rest = total % len(block)
        if rest:
            out.write(gzip.compress(block[:rest], compresslevel=9))
    return total + 352


def write_mha_header(path: Path, *, side: int) -> Path:
    """A MetaImage whose header alone declares ``side``³ voxels (and holds none)."""
    path.write_text(
        "ObjectType = Image\nNDims = 3\n"
        f"DimSize = {side} {side} {side}\n"
        "ElementType = MET_UCHAR\nElementDataFile = LOCAL\n"
    )
    return path


def deflate_ratio(data: bytes) -> float:
    """How many times ``data`` is larger than its zlib compression (for messages)."""
    return len(data) / max(1, len(zlib.compress(data)))
