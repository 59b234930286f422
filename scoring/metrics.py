"""Scoring one case: a prediction against a prepared label, into a :class:`CaseResult`.

Everything per case is computed from the two component crops: the voxel
counts and the intersection table give I, S, the per-case Dice, the matching
and every overlap metric; only the surface distances look at voxels again, on
each detected group's own bounding box.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from scoring.errors import CaseInputError
from scoring.geometry import check_geometry
from scoring.io import read_lesions
from scoring.labelcase import LabelCase
from scoring.lesion_sizes import size_record
from scoring.lesions import Components, detect, intersection_table, label_components, match
from scoring.results import LESION_METRICS, CaseResult, CaseStatus, Mode
from scoring.surface import group_surface, surface_distances, to_mm

#: The two detection thresholds (IoU strictly greater than these).
THRESHOLDS: tuple[float, float] = (0.0, 0.5)


def binary_dice(intersection: int, size_sum: int) -> float:
    """Dice of two binary masks from |A ∩ B| and |A| + |B| (both empty → 1).

    Examples
    --------
    >>> binary_dice(3, 8), binary_dice(0, 0), binary_dice(0, 5)
    (0.75, 1.0, 0.0)
    """
    if size_sum == 0:
        return 1.0
    return 2.0 * intersection / float(size_sum)


def score_components(
    pred: Components,
    label: LabelCase,
    *,
    mode: Mode,
    warnings: list[str] | None = None,
) -> CaseResult:
    """Score predicted components against a label.

    Parameters
    ----------
    pred
        The prediction's lesion components (reference numbering).
    label
        The prepared label.
    mode
        ``"paper"`` or ``"reference"``.
    warnings
        Findings to carry into the result.

    Returns
    -------
    CaseResult
        Status ``"ok"`` with every per-case quantity.
    """
    ref = label.components
    table = intersection_table(pred, ref)
    intersection = sum(table.values())
    result = CaseResult(
        case_id=label.case_id,
        mode=mode,
        warnings=[*label.warnings, *(warnings or [])],
        intersection=intersection,
        pred_voxels=pred.voxels,
        label_voxels=ref.voxels,
        dice=binary_dice(intersection, pred.voxels + ref.voxels),
    )
    groups = match(table, pred_sizes=pred.sizes, ref_sizes=ref.sizes)
    detected_at: dict[float, list[bool]] = {
        t: detect(groups, table, threshold=t, mode=mode) for t in THRESHOLDS
    }
    tp_0 = sum(detected_at[0.0])
    tp_50 = sum(detected_at[0.5])
    result.tp_0, result.fp_0, result.fn_0 = tp_0, pred.count - tp_0, ref.count - tp_0
    result.tp_50, result.fp_50, result.fn_50 = tp_50, pred.count - tp_50, ref.count - tp_50

    spacing = label.geometry.spacing
    for group, hit in zip(groups, detected_at[0.5], strict=True):
        if not hit:
            continue
        entry: dict[str, Any] = {
            "pred_id": group.pred_ids[0],
            "ref_id": group.ref_ids[0],
            "pred_ids": list(group.pred_ids),
            "ref_ids": list(group.ref_ids),
            "pred_voxels": group.pred_voxels,
            "ref_voxels": group.ref_voxels,
            "intersection": group.intersection,
            "iou": group.iou,
        }
        dice = 2.0 * group.intersection / float(group.pred_voxels + group.ref_voxels)
        jaccard = dice / (2.0 - dice)
        if mode == "paper":
            rvd = abs(group.pred_voxels - group.ref_voxels) / float(group.ref_voxels)
        else:
            rvd = abs((group.ref_voxels - group.pred_voxels) / float(group.pred_voxels))
        distances = surface_distances(
            to_mm(group_surface(pred, group.pred_ids), spacing),
            to_mm(label.surface(group.ref_ids), spacing),
        )
        entry.update(
            dice=dice,
            jaccard=jaccard,
            voe=1.0 - jaccard,
            rvd=rvd,
            assd=distances.assd,
            rmsd=distances.rmsd,
            msd=distances.msd,
        )
        result.lesions.append(entry)
    result.lesion_count = len(result.lesions)
    result.lesion_sums = {m: float(sum(e[m] for e in result.lesions)) for m in LESION_METRICS}
    sizes = size_record(
        groups,
        detected_at[0.5],
        pred_sizes=pred.sizes,
        ref_sizes=ref.sizes,
        voxel_mm3=float(np.prod(spacing)),
    )
    result.ref_lesion_mm3, result.ref_lesion_detected = sizes.ref_mm3, sizes.ref_detected
    result.fp_lesion_mm3 = sizes.fp_mm3
    return result


def unusable_result(
    label: LabelCase, *, mode: Mode, status: CaseStatus, errors: list[str]
) -> CaseResult:
    """The result of a missing or invalid prediction: scored as an empty prediction.

    ``reference`` mode's aggregation skips it; ``paper`` mode counts every
    lesion of the label as missed.

    Examples
    --------
    >>> m = np.zeros((3, 3, 3), dtype=bool); m[0, 0, 0] = m[2, 2, 2] = True
    >>> r = unusable_result(LabelCase.from_mask(m, case_id="c"), mode="paper",
    ...                     status="missing", errors=["no file"])
    >>> r.fn_50, r.fp_50, r.dice, r.label_voxels
    (2, 0, 0.0, 2)
    """
    empty = label_components(np.zeros((0, 0, 0), dtype=bool))
    result = score_components(empty, label, mode=mode)
    result.status = status
    result.errors = list(errors)
    return result


def score_case(
    label: LabelCase,
    prediction: str | os.PathLike[str] | None,
    *,
    mode: Mode | None = None,
) -> CaseResult:
    """Score one prediction file against a prepared label; never raises for a bad prediction.

    Parameters
    ----------
    label
        The case's :class:`LabelCase` (read in the same mode).
    prediction
        The prediction file, or ``None`` when the team produced none.
    mode
        Defaults to the label's mode.

    Returns
    -------
    CaseResult
        ``"ok"``, or ``"missing"``/``"invalid"`` with the reason in ``errors``
        and the quantities of an empty prediction.
    """
    mode = mode or label.mode
    if mode != label.mode:
        raise ValueError(f"label of case {label.case_id!r} was read in {label.mode!r} mode")
    if prediction is None or not os.path.isfile(prediction):
        why = "no prediction file" if prediction is None else "prediction file not found"
        return unusable_result(
            label, mode=mode, status="missing", errors=[f"case {label.case_id!r}: {why}"]
        )
    try:
        voxels = read_lesions(prediction, mode=mode)
        warnings = voxels.warnings + check_geometry(
            voxels.geometry, label.geometry, name=os.path.basename(prediction)
        )
    except CaseInputError as exc:
        return unusable_result(
            label, mode=mode, status="invalid", errors=[f"case {label.case_id!r}: {exc}"]
        )
    return score_components(
        label_components(voxels.mask, voxels.offset), label, mode=mode, warnings=warnings
    )
