"""Seeded random cases: small label/prediction pairs that exercise merges, splits and misses.

Each case is built from a seed alone, so a failure names the seed that
reproduces it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK
from scipy import ndimage

from scoring.labelcase import LabelCase
from scoring.lesions import components_from_mask
from scoring.metrics import score_components
from scoring.results import CaseResult, Mode

SHAPES = ((12, 10, 8), (9, 14, 7), (16, 8, 10))
SPACINGS = (
    (1.0, 1.0, 1.0),
    (0.7, 0.7, 2.5),
    (0.953000009059906, 0.953000009059906, 0.8),
    (3.0, 0.5, 1.25),
)


def _blobs(rng: np.random.Generator, shape: tuple[int, int, int], count: int) -> np.ndarray:
    grid = np.indices(shape).transpose(1, 2, 3, 0)
    out = np.zeros(shape, dtype=bool)
    for _ in range(count):
        centre = rng.uniform(0, shape)
        radii = rng.uniform(0.8, 3.5, size=3)
        out |= (((grid - centre) / radii) ** 2).sum(axis=-1) <= 1.0
    return out


def _perturb(rng: np.random.Generator, label: np.ndarray) -> np.ndarray:
    pred = label.copy()
    for _ in range(int(rng.integers(1, 4))):
        op = rng.integers(0, 7)
        if op == 0:
            pred = np.roll(pred, int(rng.integers(-2, 3)), axis=int(rng.integers(0, 3)))
        elif op == 1:
            pred = ndimage.binary_dilation(pred)
        elif op == 2:
            pred = ndimage.binary_erosion(pred)
        elif op == 3:  # split: cut a plane through everything
            axis = int(rng.integers(0, 3))
            at = int(rng.integers(1, pred.shape[axis] - 1))
            index = [slice(None)] * 3
            index[axis] = slice(at, at + 1)
            pred[tuple(index)] = False
        elif op == 4:  # spurious lesions
            pred |= _blobs(rng, pred.shape, int(rng.integers(1, 3)))
        elif op == 5:  # drop a component
            comps, n = ndimage.label(pred)
            if n:
                pred[comps == rng.integers(1, n + 1)] = False
        else:  # speckle
            pred ^= rng.random(pred.shape) < 0.03
    return pred


def random_case(seed: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """(prediction, label, spacing) for ``seed``: uint8 (x, y, z) arrays with lesion = 1.

    A few in ten are pure noise, where components merge and split in every way;
    the rest are blob labels with a perturbed copy as prediction. Some voxels
    take value 2, which must be ignored.
    """
    rng = np.random.default_rng(seed)
    shape = SHAPES[seed % len(SHAPES)]
    spacing = SPACINGS[(seed // len(SHAPES)) % len(SPACINGS)]
    if rng.random() < 0.3:
        density = rng.uniform(0.05, 0.35)
        label = rng.random(shape) < density
        pred = rng.random(shape) < density
    else:
        label = _blobs(rng, shape, int(rng.integers(0, 6)))
        pred = _perturb(rng, label)
    label_u8 = label.astype(np.uint8)
    pred_u8 = pred.astype(np.uint8)
    if rng.random() < 0.2:
        label_u8[rng.random(shape) < 0.02] = 2
        pred_u8[rng.random(shape) < 0.02] = 2
    return pred_u8, label_u8, spacing


def fast_case(
    pred: np.ndarray,
    label: np.ndarray,
    *,
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    mode: Mode = "paper",
    case_id: str = "case",
) -> CaseResult:
    """The library's fast path on in-memory (x, y, z) arrays (lesion = 1)."""
    label_case = LabelCase.from_mask(label == 1, case_id=case_id, spacing=spacing, mode=mode)
    return score_components(components_from_mask(pred == 1), label_case, mode=mode)


def write_image(
    path: Path,
    array: np.ndarray,
    *,
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> Path:
    """Write an (x, y, z)-indexed array as an image file (format from the suffix)."""
    image = SimpleITK.GetImageFromArray(np.ascontiguousarray(array.transpose(2, 1, 0)))
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    SimpleITK.WriteImage(image, str(path))
    return path


def random_interactive_case(
    seed: int, *, clicks: int = 10
) -> tuple[list[np.ndarray], np.ndarray, tuple[float, float, float]]:
    """(predictions for 0…clicks, label, spacing) for ``seed``: uint8 (x, y, z) arrays.

    The label always holds a lesion (the TriALS evaluator stops on an empty
    one). Predictions drift from a perturbed copy (or nothing) towards the
    label as the click count grows, with setbacks, an empty one now and then,
    and value-2 voxels that must be ignored.
    """
    rng = np.random.default_rng(10_000 + seed)
    shape = SHAPES[seed % len(SHAPES)]
    spacing = SPACINGS[(seed // len(SHAPES)) % len(SPACINGS)]
    label = _blobs(rng, shape, int(rng.integers(1, 6)))
    if not label.any():
        label[tuple(int(rng.integers(0, n)) for n in shape)] = True
    start = _perturb(rng, label) if rng.random() < 0.7 else np.zeros(shape, dtype=bool)
    predictions = []
    for k in range(clicks + 1):
        take = rng.random(shape) < k / clicks
        pred = np.where(take, label, start)
        if rng.random() < 0.3:
            pred = _perturb(rng, pred)
        if rng.random() < 0.08:
            pred = np.zeros(shape, dtype=bool)
        pred_u8 = pred.astype(np.uint8)
        if rng.random() < 0.2:
            pred_u8[rng.random(shape) < 0.02] = 2
        predictions.append(pred_u8)
    label_u8 = label.astype(np.uint8)
    if rng.random() < 0.2:
        label_u8[(rng.random(shape) < 0.02) & ~label] = 2
    return predictions, label_u8, spacing
