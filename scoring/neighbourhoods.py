"""Finding the lesion voxels of a volume as a few small crops: its lesion neighbourhoods.

A volume is scanned once, in slabs of its slowest axis. Rows whose bytes are
all zero hold no lesion and no other value either, and are recognised by the
OR of their 8-byte words (cheaper than comparing every voxel with 1); only
the other rows are gathered, compared with 1, validated and counted. The lesion voxels mark
the cells of a coarse grid (:data:`BLOCK` voxels a side); 6-connected groups of
marked cells are the *neighbourhoods*: two face-neighbouring voxels always lie
in the same cell or in face-neighbouring cells, so no lesion component spans
two neighbourhoods. Each neighbourhood becomes one :class:`Piece`: its lesion
voxels cropped to their own extent. Lesions far apart therefore cost their own
volume, not the box between them.

Everything here works in the array's own axis order (SimpleITK's (z, y, x)); no
transposed copy is made. Too many neighbourhoods (noise, speckle) would cost a
Python loop each, so the grid is coarsened until at most :data:`MAX_PIECES`
remain; at worst one piece covers every lesion voxel, which is the old bounding
box.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import cc3d
import numpy as np
import numpy.typing as npt

#: Edge of a grid cell, in voxels, along each axis.
BLOCK = 8

#: At most this many pieces per volume (the grid is coarsened beyond).
MAX_PIECES = 64

#: A slab with more than one lesion voxel in this many is marked by its extent.
_DENSE = 16

#: Maps a slab to its lesion voxels, written into the given buffer of the slab's
#: shape or into a new array (the function returns which); may raise for bad values.
LesionFn = Callable[[npt.NDArray[Any], "npt.NDArray[np.bool_] | None"], npt.NDArray[np.bool_]]
Start = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Piece:
    """The lesion voxels of one neighbourhood: a boolean crop and where it starts.

    ``mask`` is C-contiguous in the volume's own axis order; ``start`` is the
    index of its first voxel in the volume.
    """

    start: Start
    mask: npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class Scan:
    """What one pass over a volume found."""

    count: int
    other: int
    pieces: tuple[Piece, ...]


_buffers = threading.local()


def _buffer(shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
    """A boolean scratch array of ``shape``, reused by this thread (fresh pages cost faults)."""
    size = int(np.prod(shape))
    held: npt.NDArray[np.bool_] | None = getattr(_buffers, "mask", None)
    if held is None or held.size < size:
        held = np.empty(size, dtype=bool)
        _buffers.mask = held
    return held[:size].reshape(shape)


def _nonzero_rows(slab: npt.NDArray[Any]) -> npt.NDArray[np.bool_]:
    """Which rows (last axis) of a C-contiguous slab hold a byte that is not zero, flattened."""
    rows = int(np.prod(slab.shape[:-1]))
    raw = slab.reshape(rows, -1).view(np.uint8)
    whole = raw.shape[1] - raw.shape[1] % 8
    found = np.zeros(rows, dtype=bool)
    if whole:  # OR-reducing beats max here (no 64-bit max in AVX2)
        found |= np.bitwise_or.reduce(raw[:, :whole].view(np.uint64), axis=1) != 0
    if whole < raw.shape[1]:
        found |= np.bitwise_or.reduce(raw[:, whole:], axis=1) != 0
    return found


def occupied_rows(volume: npt.NDArray[Any], *, slab_voxels: int) -> npt.NDArray[np.bool_]:
    """Which rows (z, y) of a volume hold a byte that is not zero, a slab at a time.

    A row's bytes are looked at as 8-byte words (the remainder byte by byte):
    a false row holds only zeros; a true one may still hold no lesion
    (another value, or -0.0).

    Examples
    --------
    >>> v = np.zeros((3, 5, 3), dtype=np.uint8); v[1, 4, 2] = 2
    >>> np.argwhere(occupied_rows(v, slab_voxels=1)).tolist()
    [[1, 4]]
    """
    nz, ny = volume.shape[0], volume.shape[1]
    found = np.zeros((nz, ny), dtype=bool)
    step = max(1, slab_voxels // max(1, int(np.prod(volume.shape[1:]))))
    for z0 in range(0, nz, step):
        slab = np.ascontiguousarray(volume[z0 : z0 + step])
        found[z0 : z0 + step] = _nonzero_rows(slab).reshape(slab.shape[0], ny)
    return found


def _extent(mask: npt.NDArray[np.bool_]) -> tuple[Start, Start]:
    """Inclusive lower and exclusive upper index of the true voxels of a non-empty mask."""
    lo, hi = [], []
    for axis in range(3):
        present = np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis)))
        lo.append(int(present[0]))
        hi.append(int(present[-1]) + 1)
    return (lo[0], lo[1], lo[2]), (hi[0], hi[1], hi[2])


def _mark(
    grid: npt.NDArray[np.bool_], lesion: npt.NDArray[np.bool_], *, z0: int, hits: int
) -> None:
    """Mark the grid cells holding a lesion voxel of the slab starting at slice ``z0``."""
    if hits * _DENSE < lesion.size:
        flat = np.flatnonzero(lesion)
        _, ny, nx = lesion.shape
        grid[(flat // (ny * nx) + z0) // BLOCK, (flat // nx) % ny // BLOCK, flat % nx // BLOCK] = (
            True
        )
        return
    # Dense: every cell of the slab's lesion extent (a superset is still correct).
    lo, hi = _extent(lesion)
    grid[
        (lo[0] + z0) // BLOCK : (hi[0] - 1 + z0) // BLOCK + 1,
        lo[1] // BLOCK : (hi[1] - 1) // BLOCK + 1,
        lo[2] // BLOCK : (hi[2] - 1) // BLOCK + 1,
    ] = True


def _coarsen(grid: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Cells twice as large: a cell is marked when any of its eight halves is."""
    padded = np.pad(grid, [(0, s % 2) for s in grid.shape])
    a, b, c = (s // 2 for s in padded.shape)
    return np.asarray(padded.reshape(a, 2, b, 2, c, 2).any(axis=(1, 3, 5)), dtype=bool)


def _clusters(grid: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[Any], int, int]:
    """Label the grid's 6-connected groups, coarsening until few enough; (labels, n, cell)."""
    cell = BLOCK
    while True:
        labels, n = cc3d.connected_components(grid, connectivity=6, return_N=True)
        if n <= MAX_PIECES:
            return labels, int(n), cell
        grid = _coarsen(grid)
        cell *= 2


def find_pieces(volume: npt.NDArray[Any], *, lesion: LesionFn, slab_voxels: int) -> Scan:
    """Scan a 3-D volume for its lesion voxels, returned as pieces.

    Parameters
    ----------
    volume
        The image, in any axis order (pieces use the same).
    lesion
        Maps a slab of ``volume`` to its lesion voxels (see :data:`LesionFn`).
    slab_voxels
        Voxels per slab: bounds the temporaries of the scan.

    Returns
    -------
    Scan
        The lesion voxel count, the count of non-zero voxels that are not
        lesion, and the pieces (ordered by their start).

    Examples
    --------
    Two lesions far apart become two small pieces, not one box between them:

    >>> v = np.zeros((40, 40, 40), dtype=np.uint8)
    >>> v[1, 1, 1:3] = 1; v[38, 30, 35] = 1; v[20, 20, 20] = 2
    >>> scan = find_pieces(v, lesion=lambda s, out: np.equal(s, 1, out=out), slab_voxels=1 << 20)
    >>> scan.count, scan.other, [(p.start, p.mask.shape) for p in scan.pieces]
    (3, 1, [((1, 1, 1), (1, 1, 2)), ((38, 30, 35), (1, 1, 1))])
    """
    nz, ny, nx = volume.shape
    step = max(1, slab_voxels // max(1, ny * nx))
    grid = np.zeros([-(-s // BLOCK) for s in volume.shape], dtype=bool)
    count = other = 0
    for z0 in range(0, nz, step):
        slab = np.ascontiguousarray(volume[z0 : z0 + step])
        rows = np.flatnonzero(_nonzero_rows(slab))
        if rows.size == 0:
            continue
        if rows.size * 2 > slab.shape[0] * ny:  # dense: the slab itself
            mask = lesion(slab, _buffer(slab.shape))
            hits = int(np.count_nonzero(mask))
            other += int(np.count_nonzero(slab)) - hits
            if hits:
                _mark(grid, mask, z0=z0, hits=hits)
            count += hits
            continue
        # Sparse: only the rows holding something, gathered (their lesion test, too).
        block = slab.reshape(-1, nx)[rows]
        mask = lesion(block, _buffer(block.shape))
        hits = int(np.count_nonzero(mask))
        other += int(np.count_nonzero(block)) - hits
        if hits:
            flat = np.flatnonzero(mask)
            row = rows[flat // nx]
            grid[(row // ny + z0) // BLOCK, row % ny // BLOCK, flat % nx // BLOCK] = True
        count += hits
    if count == 0 or nz == 0:
        return Scan(count=count, other=other, pieces=())
    labels, n, cell = _clusters(grid)
    stats = cc3d.statistics(labels, no_slice_conversion=True)
    boxes = np.asarray(stats["bounding_boxes"], dtype=np.int64).reshape(-1, 3, 2)
    pieces = []
    for k in range(1, n + 1):
        lo = boxes[k, :, 0] * cell
        hi = np.minimum((boxes[k, :, 1] + 1) * cell, volume.shape)
        region = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        crop = lesion(volume[region], None)
        cells = labels[tuple(slice(int(a), int(b) + 1) for a, b in boxes[k])]
        if np.any((cells != k) & (cells != 0)):  # another neighbourhood reaches into the box
            own = cells == k
            for axis in range(3):
                own = np.repeat(own, cell, axis=axis)
            crop &= own[: crop.shape[0], : crop.shape[1], : crop.shape[2]]
        if not crop.any():  # only cells marked as a dense slab's superset
            continue
        inner_lo, inner_hi = _extent(crop)
        tight = tuple(slice(a, b) for a, b in zip(inner_lo, inner_hi, strict=True))
        start = tuple(int(a) + b for a, b in zip(lo, inner_lo, strict=True))
        pieces.append(
            Piece(start=(start[0], start[1], start[2]), mask=np.ascontiguousarray(crop[tight]))
        )
    pieces.sort(key=lambda p: p.start)
    return Scan(count=count, other=other, pieces=tuple(pieces))
