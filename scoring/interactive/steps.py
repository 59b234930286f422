"""Scoring one prediction of an interactive case: binary mask metrics and the lesion-wise result.

The binary metrics are those of the TriALS interactive evaluator (xmed-lab/TriALS
``TriALS_2025_Interactive_Task_2/eval_scripts_interactive_task/evaluate.py``,
commit de701ea): the whole prediction against the whole label, each as one
object; Dice; ASSD (pooled over both surfaces) and MSD (the larger directed
maximum) between the 18-neighbourhood surfaces, in mm; 9001 for both
distances (and Dice 0) when the prediction is empty and the label is not. The
evaluator stops on an empty label; Podium scores it (docs/evaluation.md).

A prediction is read once (:func:`read_prediction`); the same object then
serves scoring and, in a closed loop, the next click's simulation.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from scoring.components import Components, label_pieces
from scoring.errors import CaseInputError
from scoring.geometry import check_geometry
from scoring.interactive.results import LARGE, StepResult
from scoring.io import read_lesions
from scoring.labelcase import LabelCase
from scoring.metrics import score_components, unusable_result
from scoring.results import CaseStatus, Mode
from scoring.surface import group_surface, surface_distances, surface_voxels, to_mm


@dataclass(frozen=True, slots=True)
class PredictionRead:
    """One prediction file's lesion components, its header spacing and the findings on it."""

    components: Components
    spacing: tuple[float, float, float]
    warnings: list[str] = field(default_factory=list)


def _check_label(label: LabelCase) -> None:
    if label.mode != "paper":
        raise ValueError(
            f"label of case {label.case_id!r}: interactive scoring reads labels in 'paper' mode "
            "(lesion = value 1), whatever the interactive mode"
        )


def read_prediction(label: LabelCase, path: str | os.PathLike[str]) -> PredictionRead:
    """Read one prediction (lesion = value 1) and check it against the label's grid.

    Raises
    ------
    CaseInputError
        If the file is a link, unreadable, too large, holds non-whole floats or
        has another shape than the label.
    """
    _check_label(label)
    file = Path(path)
    if file.is_symlink():
        raise CaseInputError(f"{file.name}: a symbolic link; write the prediction as a file")
    voxels = read_lesions(file, mode="paper")
    warnings = voxels.warnings + check_geometry(voxels.geometry, label.geometry, name=file.name)
    return PredictionRead(
        components=label_pieces(voxels.pieces),
        spacing=voxels.geometry.spacing,
        warnings=warnings,
    )


#: Above this many components a union's surface is taken with one erosion of
#: the crop (one call per component would cost more).
_MAX_SEPARATE = 5000


def union_surface(
    components: Components, surface: Callable[[tuple[int, ...]], npt.NDArray[np.intp]]
) -> npt.NDArray[np.intp]:
    """Surface voxels of the union of all components.

    With 6-connected components the union's surface is the union of the
    components' own surfaces: a voxel whose 18 neighbours all lie in the union
    has its face neighbours in its own component, and so its edge neighbours
    too. So each component is eroded on its own box (``surface((i,))``: a
    label's cached :meth:`~scoring.labelcase.LabelCase.surface`, or
    :func:`~scoring.surface.group_surface`), at the cost of the lesions rather
    than of their crop; past :data:`_MAX_SEPARATE` components the crop is
    eroded once.
    """
    if components.count == 0:
        return np.zeros((0, 3), dtype=np.intp)
    if components.count > _MAX_SEPARATE:
        box = components.box(range(1, components.count + 1))
        points: npt.NDArray[np.intp] = surface_voxels(
            np.ascontiguousarray(components.occupied(box))
        ) + np.asarray([lo for lo, _ in box], dtype=np.intp)
        return points
    return np.concatenate([surface((i,)) for i in range(1, components.count + 1)])


def score_prediction(
    label: LabelCase, prediction: PredictionRead, *, clicks: int, mode: Mode
) -> StepResult:
    """Score a read prediction as step ``clicks``.

    ``paper`` measures distances with the label's spacing; ``reference`` with
    the prediction file's own (the evaluator takes ``pred_nii.header.get_zooms()``).
    """
    _check_label(label)
    pred = prediction.components
    lesions = score_components(pred, label, mode="paper", warnings=prediction.warnings)
    step = StepResult(clicks=clicks, warnings=list(prediction.warnings), lesions=lesions)
    step.dice = lesions.dice
    if pred.count and label.components.count:
        spacing = prediction.spacing if mode == "reference" else label.geometry.spacing
        distances = surface_distances(
            to_mm(union_surface(pred, lambda ids: group_surface(pred, ids)), spacing),
            to_mm(union_surface(label.components, label.surface), spacing),
        )
        step.assd, step.msd = distances.assd, distances.msd
    elif pred.count or label.components.count:
        step.assd = step.msd = LARGE
    else:
        step.assd = step.msd = 0.0
    return step


def unusable_step(
    label: LabelCase, *, clicks: int, status: CaseStatus, errors: list[str]
) -> StepResult:
    """A missing or invalid prediction, scored as an empty one."""
    _check_label(label)
    empty = label.components.count == 0
    return StepResult(
        clicks=clicks,
        status=status,
        errors=list(errors),
        dice=1.0 if empty else 0.0,
        assd=0.0 if empty else LARGE,
        msd=0.0 if empty else LARGE,
        lesions=unusable_result(label, mode="paper", status=status, errors=errors),
    )


def score_step(
    label: LabelCase,
    path: str | os.PathLike[str] | None,
    *,
    clicks: int,
    mode: Mode,
) -> tuple[StepResult, PredictionRead | None]:
    """Read and score the prediction of step ``clicks``; never raises for a bad prediction.

    Returns the step and the read prediction (``None`` when missing or
    invalid), which a closed loop hands to
    :func:`scoring.interactive.simulate.next_clicks` without reading again.
    """
    where = f"case {label.case_id!r}, {clicks} click(s)"
    if path is None:
        return unusable_step(
            label, clicks=clicks, status="missing", errors=[f"{where}: no prediction file"]
        ), None
    name = Path(path).name
    if not os.path.lexists(path):
        return unusable_step(
            label,
            clicks=clicks,
            status="missing",
            errors=[f"{where}: {name} not found"],
        ), None
    try:
        prediction = read_prediction(label, path)
    except CaseInputError as exc:
        return unusable_step(
            label,
            clicks=clicks,
            status="invalid",
            errors=[f"{where}: {exc}"],
        ), None
    return score_prediction(label, prediction, clicks=clicks, mode=mode), prediction
