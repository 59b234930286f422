"""Reading segmentations: lesion voxels in the file's own (x, y, z) axes, plus geometry.

Only this module touches SimpleITK. It returns the *lesion voxels*, not the
volume: a 637×512×512 case holds a few tens of thousands of them, so everything
downstream works on small crops. The scan runs in slabs, so a float volume
needs no full-size temporaries.

Axis order: SimpleITK hands out arrays indexed (z, y, x); the reference
evaluator reads with nibabel, indexed (x, y, z). Coordinates here are always
(x, y, z), with the spacing in the same order, so component numbering and
spacing match the reference whatever reads the file.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import SimpleITK

from scoring.errors import CaseInputError
from scoring.formats import EXTENSIONS
from scoring.geometry import Geometry
from scoring.results import Mode

#: Largest voxel data (bytes, as declared by the header) a file may hold: a full
#: TriALS CT volume as float64 is 1.3 GiB.
MAX_IMAGE_BYTES = 4 << 30

# A NIfTI-1 header is 348 bytes; extensions before the voxels rarely exceed a few KiB.
_NIFTI_MIN_HEADER = 348
_NIFTI_MAX_HEADER = 1 << 20

# SimpleITK's classes carry no type hints; one untyped handle keeps that contained.
_SITK: Any = SimpleITK

# Voxels per slab while scanning; bounds the temporaries of a float volume.
_SLAB_VOXELS = 1 << 23


@dataclass(frozen=True, slots=True)
class LesionMask:
    """The voxels of one file whose value counts as lesion, as a crop.

    ``mask`` is the bounding box of those voxels, indexed (x, y, z) and
    C-contiguous in that order (so its raster order is the reference's), and
    ``offset`` the (x, y, z) index of its first voxel. An image without lesion
    voxels has a (0, 0, 0) mask.
    """

    path: str
    geometry: Geometry
    offset: tuple[int, int, int]
    mask: npt.NDArray[np.bool_]
    count: int
    other: int = 0

    @property
    def warnings(self) -> list[str]:
        """Findings worth telling the file's author (values that were ignored)."""
        if not self.other:
            return []
        return [
            f"{Path(self.path).name}: {self.other} voxel(s) hold values other than 0 and 1; "
            "only 1 counts as lesion"
        ]


def _pixel_bytes(pixel_id: int) -> int:
    """Bytes of one component of a SimpleITK pixel type (a 1-voxel probe image)."""
    probe = _SITK.Image([1, 1, 1], pixel_id)
    return int(_SITK.GetArrayViewFromImage(probe).itemsize)


def _check_header(path: Path) -> None:
    """Refuse from the header alone what must not be read: wrong shape, too big.

    A header can declare any size (a .nii.gz of a few megabytes can expand to
    gigabytes), and reading allocates the whole declared volume first, so the
    size is checked before a voxel is decompressed.
    """
    reader = _SITK.ImageFileReader()
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise CaseInputError(
            f"{path.name}: cannot be read as an image ({_reason(exc, path)})"
        ) from exc
    if reader.GetDimension() != 3:
        raise CaseInputError(f"{path.name}: expected a 3-D image, got {reader.GetDimension()}-D")
    if reader.GetNumberOfComponents() != 1:
        raise CaseInputError(
            f"{path.name}: expected one value per voxel, got "
            f"{reader.GetNumberOfComponents()} (a vector or RGB image)"
        )
    size = tuple(int(v) for v in reader.GetSize())
    declared = math.prod(size) * _pixel_bytes(reader.GetPixelID())
    if declared > MAX_IMAGE_BYTES:
        raise CaseInputError(
            f"{path.name}: the header declares a {size[0]}×{size[1]}×{size[2]} volume "
            f"({declared / 2**30:.1f} GiB of voxels), more than the "
            f"{MAX_IMAGE_BYTES / 2**30:.0f} GiB we read; write the segmentation on the "
            "input image's grid"
        )
    _check_complete(path, data_bytes=declared)


def _check_complete(path: Path, *, data_bytes: int) -> None:
    """Refuse a NIfTI file that ends before its declared voxels do.

    SimpleITK reads a truncated ``.nii`` or ``.nii.gz`` without complaint (the
    missing voxels come back as zeros), which would score a broken upload as if
    it were a prediction. A ``.nii`` must be as long as its header says; for a
    ``.nii.gz`` the gzip trailer's size (modulo 2**32) is checked first and the
    stream is decompressed (up to the declared size only) when that disagrees,
    e.g. for a file of several gzip members.
    """
    name = path.name
    size = path.stat().st_size
    if name.endswith(".nii") and size < _NIFTI_MIN_HEADER + data_bytes:
        raise CaseInputError(
            f"{name}: the file is truncated: {size} bytes, but its header declares "
            f"{data_bytes} bytes of voxels; write it again"
        )
    if not name.endswith(".nii.gz") or size < 4:
        return
    with path.open("rb") as handle:
        handle.seek(-4, os.SEEK_END)
        trailer_size = int.from_bytes(handle.read(4), "little")
    if (trailer_size - data_bytes) % 2**32 <= _NIFTI_MAX_HEADER:
        return
    unpacked = 0
    try:
        with gzip.open(path, "rb") as stream:
            while unpacked < _NIFTI_MIN_HEADER + data_bytes and (chunk := stream.read(1 << 20)):
                unpacked += len(chunk)
    except (EOFError, OSError, zlib.error) as exc:
        raise CaseInputError(
            f"{name}: the file is truncated or corrupt ({exc}); write it again"
        ) from exc
    if unpacked < _NIFTI_MIN_HEADER + data_bytes:
        raise CaseInputError(
            f"{name}: the file is truncated: it unpacks to {unpacked} bytes, but its header "
            f"declares {data_bytes} bytes of voxels; write it again"
        )


def _read_image(path: Path) -> Any:
    if not path.is_file():
        raise CaseInputError(f"{path.name}: file not found")
    if not path.name.endswith(EXTENSIONS):
        raise CaseInputError(f"{path.name}: unsupported file type (use {', '.join(EXTENSIONS)})")
    if path.stat().st_size == 0:
        raise CaseInputError(f"{path.name}: the file is empty")
    _check_header(path)
    try:
        image: Any = SimpleITK.ReadImage(str(path))
    except RuntimeError as exc:
        raise CaseInputError(
            f"{path.name}: cannot be read as an image ({_reason(exc, path)})"
        ) from exc
    if image.GetDimension() != 3:
        raise CaseInputError(f"{path.name}: expected a 3-D image, got {image.GetDimension()}-D")
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise CaseInputError(
            f"{path.name}: expected one value per voxel, got "
            f"{image.GetNumberOfComponentsPerPixel()} (a vector or RGB image)"
        )
    return image


def _reason(exc: RuntimeError, path: Path) -> str:
    """SimpleITK's own reason: the last line of its message, without its source location."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    reason = lines[-1].removeprefix("sitk::ERROR:").strip()
    return reason.replace(str(path), path.name)


def _geometry(image: Any) -> Geometry:
    sx, sy, sz = image.GetSize()
    spacing = tuple(float(v) for v in image.GetSpacing())
    origin = tuple(float(v) for v in image.GetOrigin())
    return Geometry(
        shape=(int(sx), int(sy), int(sz)),
        spacing=(spacing[0], spacing[1], spacing[2]),
        origin=(origin[0], origin[1], origin[2]),
        direction=tuple(float(v) for v in image.GetDirection()),
    )


def _slab_lesion(slab: npt.NDArray[np.generic], *, mode: Mode, name: str) -> npt.NDArray[np.bool_]:
    if np.issubdtype(slab.dtype, np.floating):
        if mode == "reference":
            # nibabel's get_fdata().astype(np.int8): truncate, then wrap modulo 256.
            wrapped = np.fmod(np.trunc(slab), 256.0)
            mask: npt.NDArray[np.bool_] = (wrapped == 1.0) | (wrapped == -255.0)
            return mask
        if not np.all(np.isfinite(slab)):
            raise CaseInputError(
                f"{name}: float image with NaN or infinite values "
                "(save the segmentation as integers: 1 = lesion, 0 = background)"
            )
        if np.any(slab != np.floor(slab)):
            raise CaseInputError(
                f"{name}: float image with values that are not whole numbers "
                "(save the segmentation as integers: 1 = lesion, 0 = background)"
            )
        mask = np.equal(slab, 1.0)
        return mask
    if mode == "reference" and slab.dtype.itemsize > 1:
        mask = np.equal(np.bitwise_and(slab, 0xFF), 1)
        return mask
    mask = np.equal(slab, 1)
    return mask


def _extent(
    lesion: npt.NDArray[np.bool_], *, sparse: bool
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Inclusive (z, y, x) bounds of the True voxels of a non-empty slab."""
    if sparse:  # few voxels: their flat indices are cheaper than reductions
        flat = np.flatnonzero(lesion)
        _, ny, nx = lesion.shape
        index = (flat // (ny * nx), (flat // nx) % ny, flat % nx)
        return (
            np.array([int(i.min()) for i in index]),
            np.array([int(i.max()) for i in index]),
        )
    rows = np.any(lesion, axis=2)
    axes = (np.any(rows, axis=1), np.any(rows, axis=0), np.any(lesion, axis=(0, 1)))
    found = [np.flatnonzero(a) for a in axes]
    return np.array([int(f[0]) for f in found]), np.array([int(f[-1]) for f in found])


def read_lesions(path: str | os.PathLike[str], *, mode: Mode = "paper") -> LesionMask:
    """Read one segmentation and return its lesion voxels (cropped) and geometry.

    Parameters
    ----------
    path
        A ``.nii.gz``, ``.nii`` or ``.mha`` file.
    mode
        ``"paper"``: lesion = value exactly 1; a float image with non-whole values
        is rejected. ``"reference"``: the reference's ``astype(np.int8)`` cast
        is replicated (truncation, wrap modulo 256) before comparing with 1.

    Returns
    -------
    LesionMask
        The lesion voxels' bounding box in (x, y, z) order and the image geometry.

    Raises
    ------
    CaseInputError
        If the file is missing, unreadable, not a 3-D scalar image, or (paper
        mode) holds non-integer floats.
    """
    file = Path(path)
    image: Any = _read_image(file)
    geometry = _geometry(image)
    if "complex" in image.GetPixelIDTypeAsString():
        raise CaseInputError(f"{file.name}: complex-valued image")
    array = SimpleITK.GetArrayViewFromImage(image)  # (z, y, x), no copy
    nz, ny, nx = array.shape
    step = max(1, _SLAB_VOXELS // max(1, ny * nx))
    # Pass 1, in slabs: validate values, count lesion voxels, find their box.
    count = other = 0
    lo = np.array([nz, ny, nx])
    hi = np.array([-1, -1, -1])
    for z0 in range(0, nz, step):
        slab = array[z0 : z0 + step]
        lesion = _slab_lesion(slab, mode=mode, name=file.name)
        hits = int(np.count_nonzero(lesion))
        other += int(np.count_nonzero(slab)) - hits
        if hits == 0:
            continue
        count += hits
        slab_lo, slab_hi = _extent(lesion, sparse=hits * 16 < lesion.size)
        shift = np.array([z0, 0, 0])
        lo = np.minimum(lo, slab_lo + shift)
        hi = np.maximum(hi, slab_hi + shift)
    if count == 0:
        return LesionMask(
            path=str(file),
            geometry=geometry,
            offset=(0, 0, 0),
            mask=np.zeros((0, 0, 0), dtype=bool),
            count=0,
            other=other,
        )
    # Pass 2, over the box only: the crop, turned to (x, y, z) order.
    (z0, y0, x0), (z1, y1, x1) = lo, hi + 1
    crop = np.empty((z1 - z0, y1 - y0, x1 - x0), dtype=bool)
    for start in range(z0, z1, step):
        stop = min(z1, start + step)
        crop[start - z0 : stop - z0] = _slab_lesion(
            array[start:stop, y0:y1, x0:x1], mode=mode, name=file.name
        )
    del array, image
    mask = np.ascontiguousarray(crop.transpose(2, 1, 0))
    return LesionMask(
        path=str(file),
        geometry=geometry,
        offset=(int(x0), int(y0), int(z0)),
        mask=mask,
        count=count,
        other=other,
    )
