"""A slow, plain scorer written straight from docs/evaluation.md, to check the fast path against.

Everything happens on full (x, y, z)-indexed volumes with voxel masks:
``scipy.ndimage.label`` for components, a working copy of the reference labels
that is relabelled as groups merge, a "detected" label volume that failed
groups are erased from (the reference's union bug reads it), full-volume
erosions for surfaces and brute-force pairwise distances. No code is shared
with ``scoring`` except the result container.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.spatial.distance import cdist

from scoring.results import LESION_METRICS, CaseResult, Mode


def _count(mask: np.ndarray) -> int:
    return int(np.count_nonzero(mask))


def _surface_mm(mask: np.ndarray, spacing: tuple[float, float, float]) -> np.ndarray:
    structure = ndimage.generate_binary_structure(3, 2)
    eroded = ndimage.binary_erosion(mask, structure=structure, border_value=0)
    return np.argwhere(mask & ~eroded) * np.asarray(spacing, dtype=float)


def _nearest(points: np.ndarray, others: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Distance from each of ``points`` to the nearest of ``others`` (brute force, in chunks)."""
    return np.concatenate(
        [cdist(points[i : i + chunk], others).min(axis=1) for i in range(0, len(points), chunk)]
    )


def _lesion_entry(
    pred_mask: np.ndarray, ref_mask: np.ndarray, spacing: tuple[float, float, float], mode: Mode
) -> dict[str, float]:
    n_p, n_g = _count(pred_mask), _count(ref_mask)
    inter = _count(pred_mask & ref_mask)
    dice = 2.0 * inter / (n_p + n_g)
    jaccard = dice / (2.0 - dice)
    rvd = abs(n_p - n_g) / n_g if mode == "paper" else abs(n_g - n_p) / n_p
    sp, sg = _surface_mm(pred_mask, spacing), _surface_mm(ref_mask, spacing)
    d_pg, d_gp = _nearest(sp, sg), _nearest(sg, sp)
    total = len(sp) + len(sg)
    return {
        "dice": dice,
        "jaccard": jaccard,
        "voe": 1.0 - jaccard,
        "rvd": rvd,
        "assd": (d_pg.sum() + d_gp.sum()) / total,
        "rmsd": math.sqrt(((d_pg**2).sum() + (d_gp**2).sum()) / total),
        "msd": max(d_pg.max(), d_gp.max()),
    }


def _groups(
    pred_lab: np.ndarray, ref_lab: np.ndarray
) -> tuple[np.ndarray, list[tuple[list[int], int]]]:
    """Merge references, then predictions; return the working reference labels and
    the predicted groups as (predicted ids, reference group label), by first id."""
    ref = ref_lab.copy()
    touching = sorted(int(v) for v in np.unique(pred_lab[ref_lab > 0]) if v)

    def overlap(p: int, g: int) -> int:
        return _count((pred_lab == p) & (ref == g))

    for p in touching:
        labels = sorted(int(v) for v in np.unique(ref) if v)
        merge = []
        for g in labels:
            if overlap(p, g) == 0:
                continue
            column = [overlap(q, g) for q in touching]
            if touching[column.index(max(column))] == p:
                merge.append(g)
        for g in merge[1:]:
            ref[ref == g] = merge[0]
    labels = sorted(int(v) for v in np.unique(ref) if v)
    members: dict[int, list[int]] = {}
    for p in touching:
        row = [overlap(p, g) for g in labels]
        members.setdefault(labels[row.index(max(row))], []).append(p)
    groups = sorted(((ps, g) for g, ps in members.items()), key=lambda item: item[0][0])
    return ref, groups


def oracle_case(
    pred: np.ndarray,
    label: np.ndarray,
    *,
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    mode: Mode = "paper",
    case_id: str = "case",
) -> CaseResult:
    """Score ``pred`` against ``label`` (integer (x, y, z) arrays; lesion = 1)."""
    pred_lab, n_pred = ndimage.label(pred == 1)
    ref_lab, n_ref = ndimage.label(label == 1)
    inter = _count((pred_lab > 0) & (ref_lab > 0))
    size_sum = _count(pred_lab > 0) + _count(ref_lab > 0)
    result = CaseResult(
        case_id=case_id,
        mode=mode,
        intersection=inter,
        pred_voxels=_count(pred_lab > 0),
        label_voxels=_count(ref_lab > 0),
        dice=1.0 if size_sum == 0 else 2.0 * inter / size_sum,
    )
    ref, groups = _groups(pred_lab, ref_lab) if n_ref else (ref_lab, [])
    for threshold in (0.0, 0.5):
        detected_label = np.zeros(pred_lab.shape, dtype=np.int64)
        for ps, g in groups:
            detected_label[np.isin(pred_lab, ps)] = g
        hits: list[tuple[list[int], int]] = []
        for ps, g in groups:
            own = np.isin(pred_lab, ps)
            group_inter = _count(own & (ref == g))
            if mode == "paper":
                union = _count(own | (ref == g))
            else:
                union = _count((detected_label == ps[0]) | (ref == g))
            if group_inter / union > threshold:
                hits.append((ps, g))
            else:
                detected_label[detected_label == g] = 0
        tp = len(hits)
        if threshold == 0.0:
            result.tp_0, result.fp_0, result.fn_0 = tp, n_pred - tp, n_ref - tp
        else:
            result.tp_50, result.fp_50, result.fn_50 = tp, n_pred - tp, n_ref - tp
            for ps, g in hits:
                entry: dict[str, Any] = {"pred_id": ps[0], "ref_id": g}
                entry.update(_lesion_entry(np.isin(pred_lab, ps), ref == g, spacing, mode))
                result.lesions.append(entry)
    result.lesion_count = len(result.lesions)
    result.lesion_sums = {m: float(sum(e[m] for e in result.lesions)) for m in LESION_METRICS}
    return result
