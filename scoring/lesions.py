"""Lesion components and the reference evaluator's matching of predicted to reference lesions.

Components are 3-D connected components with 6-connectivity, numbered 1..n in
raster order of the (x, y, z) indexing (x slowest), which is how
``scipy.ndimage.label`` numbers a nibabel-read array. They live in a crop of
the volume (the bounding box of the lesion voxels).

Matching (docs/evaluation.md, "Lesions and matching") runs on a sparse table of
intersections between predicted and reference components; it never touches a
voxel. It yields groups (merged predictions, merged references) that do not
depend on the threshold; :func:`detect` then decides at a threshold which
groups count, in ``paper`` mode with the groups' true union and in
``reference`` mode with the reference's union bug.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cc3d
import numpy as np
import numpy.typing as npt

from scoring.results import Mode

IntArray = npt.NDArray[np.int64]
Box = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]


#: Voxels per slab when walking a label crop in raster order.
_SLAB_VOXELS = 1 << 23


@dataclass(frozen=True, slots=True)
class Components:
    """Connected lesion components of one binary volume, stored as a crop.

    Attributes
    ----------
    offset
        (x, y, z) index of the crop's first voxel in the volume.
    labels
        The crop, (x, y, z)-indexed and C-contiguous; 0 is background, 1..n the
        components in raster order.
    sizes
        ``sizes[k - 1]`` = voxels of component ``k``.
    boxes
        ``boxes[k - 1]`` = component ``k``'s [[x0, x1], [y0, y1], [z0, z1]] in
        volume coordinates, half-open; shape (n, 3, 2).
    """

    offset: tuple[int, int, int]
    labels: npt.NDArray[np.unsignedinteger[Any]]
    sizes: IntArray
    boxes: IntArray

    @property
    def count(self) -> int:
        """Number of components."""
        return int(self.sizes.size)

    @property
    def voxels(self) -> int:
        """Number of lesion voxels."""
        return int(self.sizes.sum())

    def box(self, ids: Sequence[int]) -> Box:
        """The smallest box holding the components ``ids``."""
        chosen = self.boxes[np.asarray(ids, dtype=np.int64) - 1]
        lo, hi = chosen[:, :, 0].min(axis=0), chosen[:, :, 1].max(axis=0)
        return ((int(lo[0]), int(hi[0])), (int(lo[1]), int(hi[1])), (int(lo[2]), int(hi[2])))

    def mask(self, ids: Sequence[int], box: Box) -> npt.NDArray[np.bool_]:
        """Voxels of the components ``ids`` inside ``box`` (volume coordinates)."""
        shape = tuple(hi - lo for lo, hi in box)
        out = np.zeros(shape, dtype=bool)
        src, dst = [], []
        for axis, (lo, hi) in enumerate(box):
            start = max(lo, self.offset[axis])
            stop = min(hi, self.offset[axis] + self.labels.shape[axis])
            if start >= stop:
                return out
            src.append(slice(start - self.offset[axis], stop - self.offset[axis]))
            dst.append(slice(start - lo, stop - lo))
        out[tuple(dst)] = np.isin(self.labels[tuple(src)], np.asarray(ids, dtype=np.int64))
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
    if not mask.any():
        return Components(
            offset=(0, 0, 0),
            labels=np.zeros((0, 0, 0), dtype=np.uint16),
            sizes=np.zeros(0, dtype=np.int64),
            boxes=np.zeros((0, 3, 2), dtype=np.int64),
        )
    labels, count = cc3d.connected_components(
        np.ascontiguousarray(mask), connectivity=6, return_N=True
    )
    if count > 1 and not raster_numbered(labels):
        labels = renumber_raster(labels)
    stats = cc3d.statistics(labels, no_slice_conversion=True)
    sizes = np.asarray(stats["voxel_counts"][1:], dtype=np.int64)
    boxes = np.asarray(stats["bounding_boxes"][1:], dtype=np.int64).reshape(-1, 3, 2)
    boxes[:, :, 1] += 1  # cc3d's maxima are inclusive
    boxes += np.asarray(offset, dtype=np.int64)[None, :, None]
    off = (int(offset[0]), int(offset[1]), int(offset[2]))
    return Components(offset=off, labels=labels, sizes=sizes, boxes=boxes)


def components_from_mask(mask: npt.NDArray[np.bool_]) -> Components:
    """Components of a whole (x, y, z)-indexed boolean volume, cropped to its foreground."""
    if not mask.any():
        return label_components(mask)
    where = [
        np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != axis))) for axis in range(3)
    ]
    lo = [int(w[0]) for w in where]
    hi = [int(w[-1]) + 1 for w in where]
    crop = mask[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    return label_components(crop, offset=(lo[0], lo[1], lo[2]))


def _raster_slabs(labels: npt.NDArray[Any]) -> Iterator[npt.NDArray[Any]]:
    """The foreground labels in raster order, a slab of the first axis at a time."""
    per_row = max(1, int(np.prod(labels.shape[1:])))
    step = max(1, _SLAB_VOXELS // per_row)
    for x0 in range(0, labels.shape[0], step):
        slab = labels[x0 : x0 + step]
        yield slab[slab > 0]


def raster_numbered(labels: npt.NDArray[Any]) -> bool:
    """Whether labels 1..n first appear in that order in a raster scan (scipy's numbering).

    Examples
    --------
    >>> raster_numbered(np.array([[[0, 1, 1, 2, 1, 3]]])), raster_numbered(np.array([[[2, 0, 1]]]))
    (True, False)
    """
    seen = 0
    for values in _raster_slabs(labels):
        if values.size == 0:
            continue
        # Highest label seen before each voxel; a first appearance may only be the next one.
        running = np.maximum.accumulate(np.concatenate(([seen], values.astype(np.int64))))
        if np.any(values > running[:-1] + 1):
            return False
        seen = int(running[-1])
    return True


def renumber_raster(labels: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Relabel so components are numbered by their first voxel in raster order.

    Examples
    --------
    >>> renumber_raster(np.array([[[0, 3, 3, 1, 0, 2, 1]]])).tolist()
    [[[0, 1, 1, 2, 0, 3, 2]]]
    """
    order: list[npt.NDArray[Any]] = []
    seen = np.zeros(int(labels.max()) + 1, dtype=bool)
    for values in _raster_slabs(labels):
        present, first = np.unique(values, return_index=True)
        fresh = ~seen[present]
        new = present[fresh][np.argsort(first[fresh])]
        seen[new] = True
        order.append(new)
    sequence = np.concatenate(order)
    remap = np.zeros(seen.size, dtype=labels.dtype)
    remap[sequence] = np.arange(1, sequence.size + 1)
    relabelled: npt.NDArray[Any] = remap[labels]
    return relabelled


def intersection_table(pred: Components, ref: Components) -> dict[tuple[int, int], int]:
    """Voxels shared by each (predicted component, reference component) pair that overlaps.

    Examples
    --------
    >>> a = components_from_mask(np.array([[[1, 1, 0, 1]]], dtype=bool))
    >>> b = components_from_mask(np.array([[[0, 1, 1, 1]]], dtype=bool))
    >>> intersection_table(a, b)
    {(1, 1): 1, (2, 1): 1}
    """
    if pred.count == 0 or ref.count == 0:
        return {}
    src_p, src_r = [], []
    for axis in range(3):
        start = max(pred.offset[axis], ref.offset[axis])
        stop = min(
            pred.offset[axis] + pred.labels.shape[axis], ref.offset[axis] + ref.labels.shape[axis]
        )
        if start >= stop:
            return {}
        src_p.append(slice(start - pred.offset[axis], stop - pred.offset[axis]))
        src_r.append(slice(start - ref.offset[axis], stop - ref.offset[axis]))
    p = pred.labels[tuple(src_p)]
    r = ref.labels[tuple(src_r)]
    both = (p > 0) & (r > 0)
    keys = p[both].astype(np.int64) * (ref.count + 1) + r[both]
    pairs, counts = np.unique(keys, return_counts=True)
    return {
        (int(k) // (ref.count + 1), int(k) % (ref.count + 1)): int(c)
        for k, c in zip(pairs, counts, strict=True)
    }


@dataclass(frozen=True, slots=True)
class Group:
    """Merged predicted components matched to one merged reference group.

    ``pred_ids`` and ``ref_ids`` are ascending; the group is known by
    ``pred_ids[0]`` on the prediction side and ``ref_ids[0]`` on the reference
    side (the reference's relabelling). ``intersection`` = |P ∩ G|.
    """

    pred_ids: tuple[int, ...]
    ref_ids: tuple[int, ...]
    intersection: int
    pred_voxels: int
    ref_voxels: int

    @property
    def iou(self) -> float:
        """The true IoU of the two groups."""
        return self.intersection / (self.pred_voxels + self.ref_voxels - self.intersection)


def match(
    table: dict[tuple[int, int], int], *, pred_sizes: IntArray, ref_sizes: IntArray
) -> list[Group]:
    """Group predictions and references as the reference evaluator does.

    Parameters
    ----------
    table
        :func:`intersection_table` of the two component sets.
    pred_sizes, ref_sizes
        Component sizes (index k - 1 for component k).

    Returns
    -------
    list of Group
        One per predicted group, ordered by ``pred_ids[0]``.

    Examples
    --------
    One prediction spanning two references merges them; a second prediction on
    the first reference joins the same group:

    >>> match({(1, 1): 5, (1, 2): 4, (2, 1): 1}, pred_sizes=np.array([9, 1]),
    ...       ref_sizes=np.array([6, 4]))  # doctest: +NORMALIZE_WHITESPACE
    [Group(pred_ids=(1, 2), ref_ids=(1, 2), intersection=10, pred_voxels=10, ref_voxels=10)]
    """
    if not table or ref_sizes.size == 0:
        return []
    p_ids = sorted({p for p, _ in table})
    row_of = {p: i for i, p in enumerate(p_ids)}
    matrix = np.zeros((len(p_ids), ref_sizes.size), dtype=np.int64)
    for (p, g), count in table.items():
        matrix[row_of[p], g - 1] = count
    columns: list[list[int]] = [[g] for g in range(1, ref_sizes.size + 1)]

    # Reference merging: each column whose best row (first on ties) is this row
    # merges into the first such column; later rows see the merged matrix.
    for i in range(len(p_ids)):
        merge = [int(j) for j in np.flatnonzero(matrix[i]) if int(np.argmax(matrix[:, j])) == i]
        if len(merge) < 2:
            continue
        matrix[:, merge[0]] = matrix[:, merge].sum(axis=1)
        for j in merge[1:]:
            columns[merge[0]].extend(columns[j])
        keep = [j for j in range(matrix.shape[1]) if j not in merge[1:]]
        matrix = matrix[:, keep]
        columns = [columns[j] for j in keep]

    # Each prediction keeps its largest overlap (first on ties); predictions
    # sharing a reference group become one predicted group.
    best = np.argmax(matrix, axis=1)
    rows_by_column: dict[int, list[int]] = {}
    for i, j in enumerate(best.tolist()):
        rows_by_column.setdefault(j, []).append(i)
    groups = []
    for j, rows in rows_by_column.items():
        pred_ids = tuple(p_ids[i] for i in rows)
        ref_ids = tuple(sorted(columns[j]))
        groups.append(
            Group(
                pred_ids=pred_ids,
                ref_ids=ref_ids,
                intersection=int(sum(matrix[i, j] for i in rows)),
                pred_voxels=int(sum(pred_sizes[p - 1] for p in pred_ids)),
                ref_voxels=int(sum(ref_sizes[g - 1] for g in ref_ids)),
            )
        )
    groups.sort(key=lambda group: group.pred_ids[0])
    return groups


def detect(
    groups: Sequence[Group],
    table: dict[tuple[int, int], int],
    *,
    threshold: float,
    mode: Mode,
) -> list[bool]:
    """Which groups are detected at IoU > ``threshold``.

    In ``reference`` mode the union is the reference's: predicted voxels
    currently labelled with the group's *first predicted id* (that is, the
    group whose reference id equals it, unless an earlier failure zeroed it)
    or'd with the reference group; a failure zeroes the failing group's own
    voxels for the groups after it.

    Examples
    --------
    Prediction 1 matches reference 2 exactly, prediction 2 matches reference 1
    at IoU 3/7; the reference's union for the first group uses the group
    labelled 1 (the second), so it rejects the perfect match and accepts the
    poor one:

    >>> t = {(1, 2): 5, (2, 1): 3}
    >>> g = match(t, pred_sizes=np.array([5, 7]), ref_sizes=np.array([3, 5]))
    >>> detect(g, t, threshold=0.5, mode="paper"), detect(g, t, threshold=0.5, mode="reference")
    ([True, False], [False, True])
    """
    if mode == "paper":
        return [
            g.intersection / (g.pred_voxels + g.ref_voxels - g.intersection) > threshold
            for g in groups
        ]
    by_ref_id = {g.ref_ids[0]: k for k, g in enumerate(groups)}
    alive = [True] * len(groups)
    detected = []
    for k, group in enumerate(groups):
        other = by_ref_id.get(group.pred_ids[0])
        union = group.ref_voxels
        if other is not None and alive[other]:
            o = groups[other]
            shared = sum(table.get((p, g), 0) for p in o.pred_ids for g in group.ref_ids)
            union += o.pred_voxels - shared
        hit = float(group.intersection) / union > threshold
        detected.append(hit)
        if not hit:
            alive[k] = False
    return detected
