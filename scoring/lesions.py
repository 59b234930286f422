"""The reference evaluator's matching of predicted to reference lesions.

Components (3-D, 6-connected, numbered in the reference's raster order) come
from :mod:`scoring.components` and are re-exported here; :func:`raster_numbered`
and :func:`renumber_raster` check and restore that numbering on a whole label
volume.

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

import numpy as np
import numpy.typing as npt

from scoring.components import (
    Components,
    components_from_mask,
    intersection_table,
    label_components,
)
from scoring.results import Mode

IntArray = npt.NDArray[np.int64]

__all__ = [
    "Components",
    "Group",
    "components_from_mask",
    "detect",
    "intersection_table",
    "label_components",
    "match",
    "raster_numbered",
    "renumber_raster",
]

#: Voxels per slab when walking a label volume in raster order.
_SLAB_VOXELS = 1 << 23


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
