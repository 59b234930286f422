"""Error regions between a label and a prediction, and the voxel deepest inside one.

The false negatives are the label minus the prediction, the false positives the
prediction minus the label; each splits into 6-connected components. Both are
built per component of the side they come from, on that component's own
bounding box: a component the other side does not touch is an error region as
it stands (its size is already known), one it covers entirely is none, and only
the partly covered ones are cut and relabelled. So a step costs in proportion
to the errors that overlap, never to the volume or the crop.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass

import edt
import numpy as np
import numpy.typing as npt

from scoring.components import Box, Components, label_components
from scoring.interactive.clickfile import Point, points_in


@dataclass(frozen=True, slots=True)
class Region:
    """One error region: component ``ident`` of ``comps``, of ``size`` voxels."""

    size: int
    comps: Components
    ident: int

    def first_voxel(self) -> Point:
        """The region's first voxel in raster (x, y, z) order: the tie-break between regions."""
        box = self.comps.box([self.ident])
        flat = int(np.argmax(self.comps.mask([self.ident], box)))
        shape = tuple(hi - lo for lo, hi in box)
        i, j, k = np.unravel_index(flat, shape)
        return (int(i) + box[0][0], int(j) + box[1][0], int(k) + box[2][0])


def occupied(comps: Components, box: Box) -> npt.NDArray[np.bool_]:
    """Voxels of any component of ``comps`` inside ``box`` (volume coordinates)."""
    return comps.occupied(box)


def error_regions(
    source: Components, other: Components, overlap: npt.NDArray[np.int64]
) -> Iterator[Region]:
    """``source`` minus ``other`` as regions, largest first, ties in raster order.

    ``overlap[i]`` is how many voxels of source component ``i`` the other side
    covers (index 0 unused), from :func:`scoring.lesions.intersection_table`.
    """
    ids = np.arange(1, source.count + 1)
    covered = overlap[1:]
    whole = ids[covered == 0]
    pieces: list[Region] = []
    for i in ids[(covered > 0) & (covered < source.sizes)]:
        box = source.box([int(i)])
        rest = source.mask([int(i)], box) & ~occupied(other, box)
        cut = label_components(rest, (box[0][0], box[1][0], box[2][0]))
        pieces.extend(Region(int(cut.sizes[j - 1]), cut, j) for j in range(1, cut.count + 1))
    whole_sizes = source.sizes[whole - 1]
    sizes = np.union1d(whole_sizes, np.array([r.size for r in pieces], dtype=np.int64))
    for size in sizes[::-1].tolist():
        # Whole components come in numbering order, which is raster order of their first voxel.
        same = (Region(size, source, int(i)) for i in whole[whole_sizes == size])
        cut_same = sorted((r for r in pieces if r.size == size), key=Region.first_voxel)
        yield from heapq.merge(same, cut_same, key=Region.first_voxel)


def overlaps(table: dict[tuple[int, int], int], count: int, *, side: int) -> npt.NDArray[np.int64]:
    """Per component of one side (0: prediction, 1: label), the voxels the other side covers."""
    out = np.zeros(count + 1, dtype=np.int64)
    for pair, shared in table.items():
        out[pair[side]] += shared
    return out


def farthest_voxel(
    comps: Components,
    ident: int,
    clicked: tuple[Point, ...],
    spacing: tuple[float, float, float],
) -> tuple[float, Point] | None:
    """The voxel of component ``ident`` farthest (mm) from its boundary and from ``clicked``.

    Outside the component, outside the image and every clicked voxel count as
    boundary; the first maximum in raster order wins. ``None`` if every voxel
    is clicked.
    """
    box = comps.box([ident])
    lo = [b[0] for b in box]
    hi = [b[1] for b in box]
    padded = np.pad(comps.mask([ident], box), 1)
    for p in points_in(clicked, lo, hi):
        padded[p[0] - lo[0] + 1, p[1] - lo[1] + 1, p[2] - lo[2] + 1] = False
    if not padded.any():
        return None
    distance = edt.edt(padded, anisotropy=spacing, black_border=True, parallel=1)
    flat = int(np.argmax(distance))  # the first maximum in raster order
    i, j, k = np.unravel_index(flat, distance.shape)
    return float(distance.flat[flat]), (int(i) - 1 + lo[0], int(j) - 1 + lo[1], int(k) - 1 + lo[2])


def deepest_in_first(
    regions: Iterator[Region], clicked: tuple[Point, ...], spacing: tuple[float, float, float]
) -> Point | None:
    """The deepest voxel of the first region that still has an unclicked voxel."""
    for region in regions:
        found = farthest_voxel(region.comps, region.ident, clicked, spacing)
        if found is not None:
            return found[1]
    return None
