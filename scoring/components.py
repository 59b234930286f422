"""Connected lesion components, labelled per neighbourhood, numbered as the reference does.

Components are 3-D connected components with 6-connectivity, numbered 1..n in
raster order of the (x, y, z) indexing (x slowest), which is how
``scipy.ndimage.label`` numbers a nibabel-read array (docs/evaluation.md,
"Components"). The voxels come as pieces (:mod:`scoring.neighbourhoods`) in the
file's (z, y, x) order; each piece is labelled on its own crop and keeps
cc3d's local labels (no relabelled or transposed copy): a :class:`Region`
holds the crop and the map from its local labels to the global numbers.

Numbering without a transposed copy: a component's first voxel in (x, y, z)
raster order lies on its lowest x plane, which its bounding box gives. Only
components sharing that plane with another need more: their first (y, z) on
it, read from that one plane of their crop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cc3d
import numpy as np
import numpy.typing as npt

from scoring.neighbourhoods import Piece, find_pieces

IntArray = npt.NDArray[np.int64]
Box = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]

#: Ties are broken plane by plane while the planes hold at most this many times the
#: region's lesion voxels; beyond, one pass over the lesion voxels is cheaper.
PLANE_COST = 4

#: Voxels per slab when scanning an in-memory mask or a region's labels.
_SLAB_VOXELS = 1 << 23


@dataclass(frozen=True, slots=True)
class Region:
    """The labelled crop of one piece.

    Attributes
    ----------
    start
        (z, y, x) index of the crop's first voxel in the volume.
    labels
        The crop, (z, y, x)-indexed: 0 background, 1..m cc3d's local labels.
    ids
        ``ids[local - 1]`` = the component's number in the whole volume.
    """

    start: tuple[int, int, int]
    labels: npt.NDArray[np.unsignedinteger[Any]]
    ids: IntArray

    @property
    def stop(self) -> tuple[int, int, int]:
        """(z, y, x) index one past the crop's last voxel."""
        z, y, x = self.labels.shape
        return (self.start[0] + z, self.start[1] + y, self.start[2] + x)


@dataclass(frozen=True, slots=True)
class Components:
    """Connected lesion components of one binary volume, stored per region.

    Attributes
    ----------
    regions
        The labelled crops; together they hold every lesion voxel.
    sizes
        ``sizes[k - 1]`` = voxels of component ``k``.
    boxes
        ``boxes[k - 1]`` = component ``k``'s [[x0, x1], [y0, y1], [z0, z1]] in
        volume coordinates, half-open; shape (n, 3, 2).
    region_of
        ``region_of[k - 1]`` = the index in ``regions`` holding component ``k``.
    local_of
        ``local_of[k - 1]`` = its label inside that region.
    """

    regions: tuple[Region, ...]
    sizes: IntArray
    boxes: IntArray
    region_of: IntArray
    local_of: IntArray

    @property
    def count(self) -> int:
        """Number of components."""
        return int(self.sizes.size)

    @property
    def voxels(self) -> int:
        """Number of lesion voxels."""
        return int(self.sizes.sum())

    def box(self, ids: Sequence[int]) -> Box:
        """The smallest box holding the components ``ids``, (x, y, z) volume coordinates."""
        chosen = self.boxes[np.asarray(ids, dtype=np.int64) - 1]
        lo, hi = chosen[:, :, 0].min(axis=0), chosen[:, :, 1].max(axis=0)
        return ((int(lo[0]), int(hi[0])), (int(lo[1]), int(hi[1])), (int(lo[2]), int(hi[2])))

    def mask(self, ids: Sequence[int], box: Box) -> npt.NDArray[np.bool_]:
        """Voxels of the components ``ids`` inside ``box``, (x, y, z)-indexed.

        A transposed view of the (z, y, x) mask the regions give.
        """
        (x0, x1), (y0, y1), (z0, z1) = box
        out = np.zeros((z1 - z0, y1 - y0, x1 - x0), dtype=bool)
        chosen = np.asarray(ids, dtype=np.int64) - 1
        lo = (z0, y0, x0)
        for r in np.unique(self.region_of[chosen]).tolist():
            region = self.regions[r]
            src, dst = [], []
            for axis, (start, stop) in enumerate(zip(region.start, region.stop, strict=True)):
                a, b = max(lo[axis], start), min(lo[axis] + out.shape[axis], stop)
                if a >= b:
                    break
                src.append(slice(a - start, b - start))
                dst.append(slice(a - lo[axis], b - lo[axis]))
            else:
                local = self.local_of[chosen[self.region_of[chosen] == r]]
                out[tuple(dst)] |= np.isin(region.labels[tuple(src)], local)
        view: npt.NDArray[np.bool_] = out.transpose(2, 1, 0)
        return view

    def occupied(self, box: Box) -> npt.NDArray[np.bool_]:
        """Voxels of any component inside ``box``, (x, y, z)-indexed."""
        if self.count == 0:
            return np.zeros(tuple(hi - lo for lo, hi in box), dtype=bool)
        return self.mask(range(1, self.count + 1), box)

    def component_at(self, points: npt.NDArray[np.integer[Any]]) -> IntArray:
        """The component number at each (x, y, z) point of an (n, 3) array; 0 off every lesion.

        Examples
        --------
        >>> m = np.zeros((4, 1, 7), dtype=bool)
        >>> m[0, 0, 5:7] = m[3, 0, 0] = True
        >>> label_components(m).component_at(np.array([[0, 0, 6], [3, 0, 0], [1, 0, 0]])).tolist()
        [1, 2, 0]
        """
        zyx = np.asarray(points, dtype=np.int64).reshape(-1, 3)[:, ::-1]
        out = np.zeros(len(zyx), dtype=np.int64)
        for region in self.regions:
            local = zyx - np.asarray(region.start, dtype=np.int64)
            inside = np.all((local >= 0) & (local < np.asarray(region.labels.shape)), axis=1)
            if not inside.any():
                continue
            idx = local[inside]
            value = region.labels[idx[:, 0], idx[:, 1], idx[:, 2]].astype(np.int64)
            found = np.zeros(len(value), dtype=np.int64)
            found[value > 0] = region.ids[value[value > 0] - 1]
            out[np.flatnonzero(inside)[value > 0]] = found[value > 0]
        return out


def _empty() -> Components:
    none = np.zeros(0, dtype=np.int64)
    return Components(
        regions=(),
        sizes=none,
        boxes=np.zeros((0, 3, 2), dtype=np.int64),
        region_of=none,
        local_of=none,
    )


def _first_on_plane(
    labels: npt.NDArray[Any], x: int, wanted: IntArray
) -> tuple[IntArray, IntArray]:
    """(y, z) of each local label ``wanted``'s first voxel in (y, z) raster order on plane x."""
    plane = np.ascontiguousarray(labels[:, :, x].T).ravel()  # (y, z) order: small, one plane
    where = np.flatnonzero(plane)
    values, first = np.unique(plane[where], return_index=True)
    flat = where[first[np.searchsorted(values, wanted)]]
    nz = labels.shape[0]
    return flat // nz, flat % nz


def _first_voxels(labels: npt.NDArray[Any], wanted: IntArray) -> tuple[IntArray, IntArray]:
    """(y, z) of each local label ``wanted``'s first voxel in (x, y, z) raster order.

    One pass over the crop's lesion voxels: cheaper than plane by plane when
    many components share their first planes (noise, speckle).
    """
    zs, ys, xs = labels.shape
    first = np.full(int(labels.max()) + 1, np.iinfo(np.int64).max, dtype=np.int64)
    step = max(1, _SLAB_VOXELS // max(1, ys * xs))  # bounded temporaries
    for z0 in range(0, zs, step):
        part = labels[z0 : z0 + step]
        flat = np.flatnonzero(part != 0)  # a boolean's nonzero is much faster than a uint's
        z, rest = np.divmod(flat, ys * xs)
        y, x = np.divmod(rest, xs)
        np.minimum.at(first, part.ravel()[flat], (x * ys + y) * zs + z + z0)
    key = first[wanted]
    return (key // zs) % ys, key % zs


def _break_ties(
    region: tuple[tuple[int, int, int], npt.NDArray[Any]],
    x_min: IntArray,
    local: IntArray,
    voxels: int,
) -> tuple[IntArray, IntArray]:
    """(y, z) in the volume of the first voxels of components ``local`` whose lowest x ties."""
    start, labels = region
    planes, where = np.unique(x_min, return_inverse=True)
    y, z = np.zeros_like(x_min), np.zeros_like(x_min)
    if planes.size * labels.shape[0] * labels.shape[1] > PLANE_COST * voxels:
        y, z = _first_voxels(labels, local)
    else:
        for k, x in enumerate(planes.tolist()):
            on_plane = where == k
            y[on_plane], z[on_plane] = _first_on_plane(labels, x - start[2], local[on_plane])
    return y + start[1], z + start[0]


def label_pieces(pieces: Sequence[Piece]) -> Components:
    """Label the pieces of a volume ((z, y, x) order) into numbered components.

    Examples
    --------
    Two components whose first voxels share the x plane: the lower y comes first.

    >>> from scoring.neighbourhoods import Piece
    >>> a = Piece((0, 5, 2), np.ones((1, 1, 1), dtype=bool))   # (x, y, z) = (2, 5, 0)
    >>> b = Piece((4, 1, 2), np.ones((1, 1, 3), dtype=bool))   # x 2..4, y 1, z 4
    >>> c = label_pieces([a, b])
    >>> c.sizes.tolist(), c.boxes[:, :, 0].tolist()
    ([3, 1], [[2, 1, 4], [2, 5, 0]])
    """
    regions, sizes, boxes, locals_ = [], [], [], []
    for piece in pieces:
        labels, m = cc3d.connected_components(piece.mask, connectivity=6, return_N=True)
        if m == 0:
            continue
        stats = cc3d.statistics(labels, no_slice_conversion=True)
        box = np.asarray(stats["bounding_boxes"][1:], dtype=np.int64).reshape(-1, 3, 2)
        box[:, :, 1] += 1  # cc3d's maxima are inclusive
        box += np.asarray(piece.start, dtype=np.int64)[None, :, None]
        regions.append((piece.start, labels))
        sizes.append(np.asarray(stats["voxel_counts"][1:], dtype=np.int64))
        boxes.append(box[:, ::-1, :])  # (z, y, x) -> (x, y, z)
        locals_.append(np.arange(1, int(m) + 1, dtype=np.int64))
    if not regions:
        return _empty()
    size = np.concatenate(sizes)
    xyz_boxes = np.concatenate(boxes)
    local = np.concatenate(locals_)
    region_of = np.concatenate([np.full(len(s), r, dtype=np.int64) for r, s in enumerate(sizes)])
    # Raster order of (x, y, z): by the lowest x; ties by the first (y, z) on that plane.
    x_min = xyz_boxes[:, 0, 0]
    y_first = np.zeros_like(x_min)
    z_first = np.zeros_like(x_min)
    values, counts = np.unique(x_min, return_counts=True)
    tied = np.flatnonzero(np.isin(x_min, values[counts > 1]))
    by_region = np.argsort(region_of[tied], kind="stable")
    bounds = np.searchsorted(region_of[tied][by_region], np.arange(len(regions) + 1))
    for r in range(len(regions)):
        mine = tied[by_region[bounds[r] : bounds[r + 1]]]
        if mine.size:
            voxels = int(sizes[r].sum())
            y_first[mine], z_first[mine] = _break_ties(regions[r], x_min[mine], local[mine], voxels)
    order = np.lexsort((z_first, y_first, x_min))
    number = np.empty_like(order)
    number[order] = np.arange(1, order.size + 1)
    built = []
    for r, (start, labels) in enumerate(regions):
        ids = number[region_of == r]
        built.append(Region(start=start, labels=labels, ids=ids))
    return Components(
        regions=tuple(built),
        sizes=size[order],
        boxes=xyz_boxes[order],
        region_of=region_of[order],
        local_of=local[order],
    )


def _bounds(regions: Sequence[Region]) -> tuple[IntArray, IntArray]:
    """(n, 3) starts and stops of the regions' crops."""
    lo = np.array([r.start for r in regions], dtype=np.int64).reshape(-1, 3)
    hi = np.array([r.stop for r in regions], dtype=np.int64).reshape(-1, 3)
    return lo, hi


def _window(lo: IntArray, hi: IntArray, start: tuple[int, int, int]) -> tuple[slice, ...]:
    """The index of volume box [lo, hi) in a crop starting at ``start``."""
    return tuple(slice(int(u) - s, int(v) - s) for u, v, s in zip(lo, hi, start, strict=True))


def intersection_table(pred: Components, ref: Components) -> dict[tuple[int, int], int]:
    """Voxels shared by each (predicted component, reference component) pair that overlaps.

    Only overlapping regions are compared, on the overlap of their crops.

    Examples
    --------
    >>> a = components_from_mask(np.array([[[1, 1, 0, 1]]], dtype=bool))
    >>> b = components_from_mask(np.array([[[0, 1, 1, 1]]], dtype=bool))
    >>> intersection_table(a, b)
    {(1, 1): 1, (2, 1): 1}
    """
    if pred.count == 0 or ref.count == 0:
        return {}
    keys = []
    base = ref.count + 1
    a_lo, a_hi = _bounds(pred.regions)
    b_lo, b_hi = _bounds(ref.regions)
    lo = np.maximum(a_lo[:, None, :], b_lo[None, :, :])
    hi = np.minimum(a_hi[:, None, :], b_hi[None, :, :])
    for i, j in np.argwhere(np.all(lo < hi, axis=2)).tolist():
        a, b = pred.regions[i], ref.regions[j]
        p = a.labels[_window(lo[i, j], hi[i, j], a.start)]
        r = b.labels[_window(lo[i, j], hi[i, j], b.start)]
        both = (p != 0) & (r != 0)
        if not both.any():
            continue
        keys.append(
            a.ids[p[both].astype(np.int64) - 1] * base + b.ids[r[both].astype(np.int64) - 1]
        )
    if not keys:
        return {}
    found, counts = np.unique(np.concatenate(keys), return_counts=True)
    pairs = zip(found.tolist(), counts.tolist(), strict=True)
    return {(k // base, k % base): c for k, c in pairs}


def _copy_bool(slab: npt.NDArray[Any], out: npt.NDArray[np.bool_] | None) -> npt.NDArray[np.bool_]:
    if out is None:
        return np.array(slab, dtype=bool)
    out[...] = slab
    return out


def label_components(
    mask: npt.NDArray[np.bool_], offset: tuple[int, int, int] = (0, 0, 0)
) -> Components:
    """Label the 6-connected components of a crop ``mask`` ((x, y, z)-indexed).

    Examples
    --------
    >>> m = np.zeros((4, 1, 7), dtype=bool)
    >>> m[0, 0, 5:7] = m[3, 0, 0] = True
    >>> c = label_components(m, offset=(10, 0, 0))
    >>> c.count, c.sizes.tolist(), c.box([2])
    (2, [2, 1], ((13, 14), (0, 1), (0, 1)))
    """
    if mask.size == 0:
        return _empty()
    scan = find_pieces(mask.transpose(2, 1, 0), lesion=_copy_bool, slab_voxels=_SLAB_VOXELS)
    x, y, z = offset
    return label_pieces(
        [
            Piece(start=(p.start[0] + z, p.start[1] + y, p.start[2] + x), mask=p.mask)
            for p in scan.pieces
        ]
    )


def components_from_mask(mask: npt.NDArray[np.bool_]) -> Components:
    """Components of a whole (x, y, z)-indexed boolean volume."""
    return label_components(mask)
