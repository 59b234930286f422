"""Scoring one case: a prediction against prepared labels, into :class:`CaseResult` s.

Everything per case is computed from the two sets of components: the voxel
counts and the intersection table give I, S, the per-case Dice, the matching
and every overlap metric; only the surface distances look at voxels again, on
each detected group's own bounding box.

A prediction is read once for every label it is scored against
(:func:`score_prediction`: several paradigms, several label-set versions): its
components and the surfaces of its lesion groups are shared.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring.components import Components, intersection_table, label_pieces
from scoring.errors import CaseInputError
from scoring.geometry import check_geometry
from scoring.io import read_lesion_modes
from scoring.labelcase import LabelCase
from scoring.lesion_sizes import size_record
from scoring.lesions import detect, match
from scoring.results import LESION_METRICS, CaseResult, CaseStatus, Mode
from scoring.surface import group_surface, voxel_surface_distances

#: Surface voxels of a prediction's lesion groups, by their component ids.
SurfaceCache = dict[tuple[int, ...], npt.NDArray[np.intp]]

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
    surfaces: SurfaceCache | None = None,
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
    surfaces
        Surfaces of ``pred``'s groups already computed (for another label);
        new ones are added.

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
        pred_surface = surfaces.get(group.pred_ids) if surfaces is not None else None
        if pred_surface is None:
            pred_surface = group_surface(pred, group.pred_ids)
            if surfaces is not None:
                surfaces[group.pred_ids] = pred_surface
        distances = voxel_surface_distances(pred_surface, label.surface(group.ref_ids), spacing)
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
    empty = label_pieces(())
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
    return score_prediction([label], prediction)[0]


def score_prediction(
    labels: Sequence[LabelCase], prediction: str | os.PathLike[str] | None
) -> list[CaseResult]:
    """Score one prediction file against several prepared labels, reading it once.

    The labels are those of one case (paradigms, label-set versions); each is
    scored in its own mode, and each result equals :func:`score_case` of that
    label alone. Never raises for a bad prediction.

    Parameters
    ----------
    labels
        The prepared labels.
    prediction
        The prediction file, or ``None`` when the team produced none.

    Returns
    -------
    list of CaseResult
        One per label, in order.

    Examples
    --------
    >>> m = np.zeros((3, 3, 3), dtype=bool); m[0, 0, 0] = True
    >>> visible, combined = (LabelCase.from_mask(m, case_id="c") for _ in range(2))
    >>> [r.status for r in score_prediction([visible, combined], None)]
    ['missing', 'missing']
    """
    if prediction is None or not os.path.isfile(prediction):
        why = "no prediction file" if prediction is None else "prediction file not found"
        return [
            unusable_result(
                label, mode=label.mode, status="missing", errors=[f"case {label.case_id!r}: {why}"]
            )
            for label in labels
        ]
    try:
        found = read_lesion_modes(prediction, modes=[label.mode for label in labels])
    except CaseInputError as exc:
        return [_invalid(label, exc) for label in labels]
    name = os.path.basename(prediction)
    components: dict[int, Components] = {}  # by id of the LesionMask: modes may share one
    surfaces: dict[int, SurfaceCache] = {}
    results = []
    for label in labels:
        lesions = found[label.mode]
        if isinstance(lesions, CaseInputError):
            results.append(_invalid(label, lesions))
            continue
        try:
            geometry = check_geometry(lesions.geometry, label.geometry, name=name)
            warnings = lesions.warnings + geometry
        except CaseInputError as exc:
            results.append(_invalid(label, exc))
            continue
        key = id(lesions)
        if key not in components:
            components[key] = label_pieces(lesions.pieces)
            surfaces[key] = {}
        results.append(
            score_components(
                components[key],
                label,
                mode=label.mode,
                warnings=warnings,
                surfaces=surfaces[key],
            )
        )
    return results


def _invalid(label: LabelCase, exc: CaseInputError) -> CaseResult:
    return unusable_result(
        label, mode=label.mode, status="invalid", errors=[f"case {label.case_id!r}: {exc}"]
    )
