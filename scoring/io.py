"""Reading segmentations: lesion voxels as small crops, plus geometry.

Only this module touches SimpleITK. It returns the *lesion voxels*, not the
volume: a 637×512×512 case holds a few tens of thousands of them, so everything
downstream works on small crops, one per lesion neighbourhood
(:mod:`scoring.neighbourhoods`). The scan runs in slabs, so a float volume
needs no full-size temporaries. One read serves several modes
(:func:`read_lesion_modes`).

Axis order: SimpleITK hands out arrays indexed (z, y, x); the reference
evaluator reads with nibabel, indexed (x, y, z). The pieces stay in the
array's (z, y, x) order (no transposed copy); geometry, offsets and the
:attr:`LesionMask.mask` convenience view are (x, y, z), with the spacing in the
same order, and :mod:`scoring.components` numbers components in the
reference's (x, y, z) raster order whatever reads the file.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import SimpleITK

from scoring.errors import CaseInputError
from scoring.formats import EXTENSIONS
from scoring.geometry import Geometry
from scoring.neighbourhoods import Piece, find_pieces
from scoring.nifti import read_voxels, stored_voxel_bytes
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
    """The voxels of one file whose value counts as lesion, as pieces.

    ``pieces`` are the lesion neighbourhoods, each a boolean crop in the
    array's (z, y, x) order with its (z, y, x) start; together they hold every
    lesion voxel. An image without lesion voxels has none.
    """

    path: str
    geometry: Geometry
    pieces: tuple[Piece, ...]
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

    @property
    def offset(self) -> tuple[int, int, int]:
        """(x, y, z) index of the first voxel of :attr:`mask`."""
        if not self.pieces:
            return (0, 0, 0)
        z, y, x = (min(p.start[axis] for p in self.pieces) for axis in range(3))
        return (x, y, z)

    @property
    def mask(self) -> npt.NDArray[np.bool_]:
        """The bounding box of every lesion voxel, (x, y, z)-indexed and C-contiguous.

        Built on request (tests, small volumes); scoring works on the pieces.
        """
        if not self.pieces:
            return np.zeros((0, 0, 0), dtype=bool)
        lo = [min(p.start[a] for p in self.pieces) for a in range(3)]
        hi = [max(p.start[a] + p.mask.shape[a] for p in self.pieces) for a in range(3)]
        box = np.zeros([h - low for low, h in zip(lo, hi, strict=True)], dtype=bool)
        for p in self.pieces:
            at = zip(p.start, lo, p.mask.shape, strict=True)
            box[tuple(slice(s - low, s - low + n) for s, low, n in at)] |= p.mask
        return np.ascontiguousarray(box.transpose(2, 1, 0))


def _pixel_dtype(pixel_id: int) -> np.dtype:
    """The numpy dtype SimpleITK gives a pixel type's arrays (a 1-voxel probe image)."""
    probe = _SITK.Image([1, 1, 1], pixel_id)
    dtype: np.dtype = _SITK.GetArrayViewFromImage(probe).dtype
    return dtype


def _check_header(path: Path) -> Any:
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
    declared = math.prod(size) * _pixel_dtype(reader.GetPixelID()).itemsize
    # What the file holds: a scaled NIfTI stores integers that SimpleITK reads as floats.
    stored = stored_voxel_bytes(path) or declared
    if declared > MAX_IMAGE_BYTES:
        raise CaseInputError(
            f"{path.name}: the header declares a {size[0]}×{size[1]}×{size[2]} volume "
            f"({declared / 2**30:.1f} GiB of voxels), more than the "
            f"{MAX_IMAGE_BYTES / 2**30:.0f} GiB we read; write the segmentation on the "
            "input image's grid"
        )
    _check_complete(path, data_bytes=stored)
    return reader


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


def _check_file(path: Path) -> Any:
    """The file's header, read by SimpleITK, once the file is fit to be read."""
    if not path.is_file():
        raise CaseInputError(f"{path.name}: file not found")
    if not path.name.endswith(EXTENSIONS):
        raise CaseInputError(f"{path.name}: unsupported file type (use {', '.join(EXTENSIONS)})")
    if path.stat().st_size == 0:
        raise CaseInputError(f"{path.name}: the file is empty")
    return _check_header(path)


def _read_image(path: Path) -> Any:
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


def _slab_lesion(
    slab: npt.NDArray[np.generic],
    *,
    mode: Mode,
    name: str,
    out: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.bool_]:
    """The lesion voxels of a slab, into ``out`` when given (a reused buffer: no page faults)."""
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
        mask = np.equal(slab, 1.0, out=out)
        return mask
    if mode == "reference" and slab.dtype.itemsize > 1:
        mask = np.equal(np.bitwise_and(slab, 0xFF), 1, out=out)
        return mask
    mask = np.equal(slab, 1, out=out)
    return mask


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
        The lesion voxels (as pieces, with their count) and the image geometry.

    Raises
    ------
    CaseInputError
        If the file is missing, unreadable, not a 3-D scalar image, or (paper
        mode) holds non-integer floats.
    """
    found = read_lesion_modes(path, modes=(mode,))[mode]
    if isinstance(found, CaseInputError):
        raise found
    return found


def _scan(
    array: npt.NDArray[np.generic], geometry: Geometry, *, path: Path, mode: Mode
) -> LesionMask:
    """The lesion pieces of a (z, y, x) array: copies, never views of ``array``."""
    scan = find_pieces(
        array,
        lesion=lambda slab, out: _slab_lesion(slab, mode=mode, name=path.name, out=out),
        slab_voxels=_SLAB_VOXELS,
    )
    return LesionMask(
        path=str(path),
        geometry=geometry,
        pieces=scan.pieces,
        count=scan.count,
        other=scan.other,
    )


def _same_in_both_modes(dtype: np.dtype) -> bool:
    """Whether ``paper`` and ``reference`` mode read the same lesions: one-byte integers."""
    return bool(dtype.kind in "iu" and dtype.itemsize == 1)


def read_lesion_modes(
    path: str | os.PathLike[str], *, modes: Sequence[Mode]
) -> dict[Mode, LesionMask | CaseInputError]:
    """Read a segmentation once and find its lesions as each of ``modes`` reads them.

    Returns
    -------
    dict
        Mode -> :class:`LesionMask`, or the :class:`CaseInputError` saying why
        the file's values are unusable in that mode (``paper`` refuses
        non-whole floats that ``reference`` casts).

    Raises
    ------
    CaseInputError
        If the file is missing, unreadable or not a 3-D scalar image (in any mode).
    """
    file = Path(path)
    header = _check_file(file)
    sx, sy, sz = (int(v) for v in header.GetSize())
    dtype = _pixel_dtype(header.GetPixelID())
    with read_voxels(file, size_xyz=(sx, sy, sz), dtype=dtype) as voxels:
        if voxels is not None:  # streamed into a reused buffer (scoring.nifti)
            return _scan_modes(voxels, _geometry(header), path=file, modes=modes)
    image: Any = _read_image(file)
    if "complex" in image.GetPixelIDTypeAsString():
        raise CaseInputError(f"{file.name}: complex-valued image")
    array = SimpleITK.GetArrayViewFromImage(image)  # (z, y, x), no copy
    found = _scan_modes(array, _geometry(image), path=file, modes=modes)
    del array, image  # the pieces are all that is kept
    return found


def _scan_modes(
    array: npt.NDArray[np.generic], geometry: Geometry, *, path: Path, modes: Sequence[Mode]
) -> dict[Mode, LesionMask | CaseInputError]:
    found: dict[Mode, LesionMask | CaseInputError] = {}
    for mode in dict.fromkeys(modes):
        if found and _same_in_both_modes(array.dtype):
            found[mode] = next(iter(found.values()))
            continue
        try:
            found[mode] = _scan(array, geometry, path=path, mode=mode)
        except CaseInputError as exc:
            found[mode] = exc
    return found
