"""A transcription of the TriALS 2025 interactive evaluator's computation: the test harness.

What it transcribes: github.com/xmed-lab/TriALS at commit de701ea,
``TriALS_2025_Interactive_Task_2/eval_scripts_interactive_task/evaluate.py``,
written anew here from reading that script (nothing of it is imported or copied):

- ``compute_segmentation_scores``: for every non-zero value of the reference
  (in ``np.unique`` order), the bounding box of ``(reference == v) + (prediction == v)``,
  then on that box medpy's ``dc`` and the ``Surface`` class (18-neighbourhood
  contour ``a ^ binary_erosion(a)``, edge points times the voxel spacing,
  nearest-neighbour distances with k-d trees; ASSD pooled over both surfaces,
  MSD the larger directed maximum); ``LARGE = 9001`` and Dice 0 when either
  box mask is empty;
- ``process_case``: ``get_fdata()`` arrays, the spacing from the *prediction*
  header (``pred_nii.header.get_zooms()``);
- ``aggregate_group_metrics``: the per-click JSON files ``sorted()`` as strings,
  the first entry of each metric list, ``integrate.cumulative_trapezoid(values,
  np.arange(11))[-1]`` and ``values[-1]``;
- the dataset means of ``final_interactive_metrics.json`` (a plain mean over cases).

One adaptation: current SciPy refuses a boolean array in ``ndimage.find_objects``
(the script as written then fails on every file); the box is taken from the
same mask cast to uint8, which SciPy 1.11 did implicitly. ``click_order`` may
be set to ``"numeric"`` to give the same computation without the ordering bug
(Podium's ``paper`` mode).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import nibabel
import numpy as np
import scipy.spatial
from scipy import integrate, ndimage

LARGE = 9001


def _dc(result: np.ndarray, reference: np.ndarray) -> float:
    # medpy.metric.binary.dc
    result = np.atleast_1d(result.astype(bool))
    reference = np.atleast_1d(reference.astype(bool))
    intersection = np.count_nonzero(result & reference)
    size_i1 = np.count_nonzero(result)
    size_i2 = np.count_nonzero(reference)
    try:
        return 2.0 * intersection / float(size_i1 + size_i2)
    except ZeroDivisionError:
        return 0.0


def _edge_points(array: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    footprint = ndimage.generate_binary_structure(3, 2)
    edge = array ^ ndimage.binary_erosion(array, footprint)
    points = np.transpose(edge.nonzero()).astype(np.float64)
    if len(points) == 0:
        raise ValueError("The mask image does not seem to contain an object.")
    return points * np.array(spacing)


def _surface(p: np.ndarray, r: np.ndarray, spacing: Sequence[float]) -> tuple[float, float]:
    mask_points = _edge_points(p, spacing)
    reference_points = _edge_points(r, spacing)
    mask_reference_nn = scipy.spatial.cKDTree(mask_points).query(reference_points)[0]
    reference_mask_nn = scipy.spatial.cKDTree(reference_points).query(mask_points)[0]
    n = len(mask_points) + len(reference_points)
    assd = 1.0 / n * (mask_reference_nn.sum() + reference_mask_nn.sum())
    msd = max(mask_reference_nn.max(), reference_mask_nn.max())
    return float(assd), float(msd)


def segmentation_scores(
    prediction: np.ndarray, reference: np.ndarray, spacing: Sequence[float]
) -> dict[str, list[float]]:
    """``compute_segmentation_scores`` (dice, assd, msd only: the others are not aggregated)."""
    scores: dict[str, list[float]] = {"dice": [], "assd": [], "msd": []}
    for obj_id in np.unique(reference):
        if obj_id == 0:
            continue
        target = (reference == obj_id) + (prediction == obj_id)
        box = ndimage.find_objects(target.astype(np.uint8))[0]
        p = (prediction == obj_id)[box]
        r = (reference == obj_id)[box]
        if np.any(p) and np.any(r):
            scores["dice"].append(_dc(p, r))
            assd, msd = _surface(p, r, spacing)
            scores["assd"].append(assd)
            scores["msd"].append(msd)
        else:
            scores["dice"].append(0)
            scores["assd"].append(LARGE)
            scores["msd"].append(LARGE)
    return scores


def aggregate(
    scores_by_file: Mapping[str, Mapping[str, list[float]]],
    *,
    click_order: Literal["string", "numeric"] = "string",
) -> dict[str, dict[str, float]]:
    """``aggregate_group_metrics`` + ``cast_agg_to_float`` over ``{json file name: scores}``.

    Raises IndexError, as the script does, when a label had no object (empty lists).
    """
    names = sorted(scores_by_file)
    if click_order == "numeric":
        names = sorted(names, key=lambda n: int(n.rsplit("_", 1)[1].split(".")[0]))
    # The script writes each JSON and reads it back; the round trip is kept.
    all_scores = [json.loads(json.dumps(scores_by_file[n])) for n in names]
    aggregated = {}
    for key in ("dice", "assd", "msd"):
        values = np.array([score[key][0] for score in all_scores])
        auc = integrate.cumulative_trapezoid(values, np.arange(len(values)))[-1]
        aggregated[key] = {"AUC": float(auc), "Final": float(values[-1])}
    return aggregated


def case_from_arrays(
    case_id: str,
    predictions: Sequence[np.ndarray],
    reference: np.ndarray,
    spacings: Sequence[Sequence[float]],
    *,
    click_order: Literal["string", "numeric"] = "string",
) -> tuple[dict[int, dict[str, list[float]]], dict[str, dict[str, float]]]:
    """Per-click scores (keyed by click count) and the case's aggregate, from in-memory arrays.

    ``predictions[k]`` and ``spacings[k]`` are the k-click prediction and its header spacing.
    """
    per_click = {
        k: segmentation_scores(
            np.asarray(pred, dtype=np.float64), np.asarray(reference, dtype=np.float64), spacing
        )
        for k, (pred, spacing) in enumerate(zip(predictions, spacings, strict=True))
    }
    by_file = {f"{case_id}_{k}.json": s for k, s in per_click.items()}
    return per_click, aggregate(by_file, click_order=click_order)


def case_from_files(
    case_id: str,
    prediction_dir: Path,
    reference_path: Path,
    *,
    click_order: Literal["string", "numeric"] = "string",
) -> dict[str, dict[str, float]]:
    """The script's reading: nibabel, ``get_fdata()``, the prediction's zooms, every ``.nii.gz``."""
    reference = np.asarray(nibabel.load(reference_path).get_fdata())
    by_file = {}
    for path in sorted(p for p in prediction_dir.iterdir() if p.name.endswith(".nii.gz")):
        image = nibabel.load(path)
        by_file[path.name.replace(".nii.gz", ".json")] = segmentation_scores(
            np.asarray(image.get_fdata()), reference, image.header.get_zooms()
        )
    return aggregate(by_file, click_order=click_order)


def dataset_means(cases: Sequence[Mapping[str, Mapping[str, float]]]) -> dict[str, float]:
    """``final_interactive_metrics.json`` / ``metrics.csv``: plain means over cases."""
    names = {
        "DSC@AUC": ("dice", "AUC"),
        "ASD@AUC": ("assd", "AUC"),
        "MSD@AUC": ("msd", "AUC"),
        "DSC@Final": ("dice", "Final"),
        "ASD@Final": ("assd", "Final"),
        "MSD@Final": ("msd", "Final"),
    }
    out = {}
    for label, (metric, kind) in names.items():
        total = 0.0
        for case in cases:
            total += case[metric][kind]
        out[label] = total / len(cases) if cases else math.nan
    return out
