"""Click simulation: where a user would click next, from the label and the current prediction.

The rules (docs/scoring.md, "Click simulation"), pure and deterministic:

- **Lesion click.** The false negatives (label and not prediction) split into
  6-connected components. The largest (most voxels; on a tie the first in
  raster order) gets the click, at its voxel farthest from the component's
  boundary: the maximum of the Euclidean distance transform in millimetres
  (the label's spacing), where every voxel outside the component, outside the
  image, or already clicked counts as boundary. Ties go to the first voxel in
  raster (x, y, z) order. A component whose every voxel is already clicked
  passes to the next largest. With no false negative left, the click refines:
  the label voxel farthest from its lesion's boundary and from earlier clicks.
  An empty label gets no lesion click.
- **Background click.** The same on the false positives (prediction and not
  label). With none, a seeded random background voxel at
  ``background_min_mm``…``background_max_mm`` from the nearest lesion (near
  enough to be in the organ, far enough to be unambiguous) and at least
  ``background_min_mm`` from earlier background clicks; with an empty label, a
  seeded voxel in the central half of the image.
- **Static mode** (:func:`static_clicks`): the same rules against a simulated
  responder whose prediction is empty at first and holds exactly the lesions
  clicked so far; so the first clicks go to the lesions' centres, largest
  first, and further ones refine.

Distances come from the ``edt`` package (exact Euclidean, float32) on each
component's own bounding box, so a step costs in proportion to the errors,
not the volume.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import edt
import numpy as np
import numpy.typing as npt
from scipy import spatial

from scoring.interactive.clickfile import Clicks, Point, points_in
from scoring.interactive.steps import PredictionRead
from scoring.io import LesionMask
from scoring.labelcase import LabelCase
from scoring.lesions import Components, label_components

#: The most clicks of each kind a phase may ask for.
MAX_CLICKS = 100

# Rejection sampling of the background fallback: draws per batch, batches.
_BATCH = 1024
_BATCHES = 32


@dataclass(frozen=True, slots=True)
class ClickSettings:
    """How clicks are simulated; a phase carries one.

    Attributes
    ----------
    count
        Clicks of each kind (TriALS: 10); predictions are made for 0…count.
    seed
        Seeds the background fallback (the only random choice).
    background_min_mm, background_max_mm
        The shell around the lesions where fallback background clicks land.

    Examples
    --------
    >>> ClickSettings.from_dict({"count": 5}).count
    5
    >>> ClickSettings(count=0)
    Traceback (most recent call last):
    ...
    ValueError: click count must be between 1 and 100, not 0
    """

    count: int = 10
    seed: int = 0
    background_min_mm: float = 5.0
    background_max_mm: float = 25.0

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int):
            raise ValueError(f"click count must be a whole number, not {self.count!r}")
        if not 1 <= self.count <= MAX_CLICKS:
            raise ValueError(f"click count must be between 1 and {MAX_CLICKS}, not {self.count}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"click seed must be a whole number ≥ 0, not {self.seed!r}")
        lo, hi = self.background_min_mm, self.background_max_mm
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
            raise ValueError(
                f"background shell must satisfy 0 < min < max (mm), got {lo!r} and {hi!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain values (for a phase's stored configuration)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClickSettings:
        """Settings from a mapping; unknown keys are refused (a typo must not pass silently)."""
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(
                f"unknown click setting(s) {', '.join(unknown)}; "
                f"known: {', '.join(cls.__dataclass_fields__)}"
            )
        return cls(**dict(data))


Prediction = PredictionRead | Components | LesionMask | None


def _crop_of(prediction: Prediction) -> tuple[npt.NDArray[np.bool_], tuple[int, int, int]]:
    if prediction is None:
        return np.zeros((0, 0, 0), dtype=bool), (0, 0, 0)
    if isinstance(prediction, PredictionRead):
        prediction = prediction.components
    if isinstance(prediction, Components):
        return prediction.labels > 0, prediction.offset
    return prediction.mask, prediction.offset


def _overlay(
    src: npt.NDArray[np.bool_],
    src_offset: tuple[int, ...],
    shape: tuple[int, ...],
    offset: tuple[int, ...],
) -> npt.NDArray[np.bool_]:
    """``src`` (placed at ``src_offset``) seen through a box of ``shape`` at ``offset``."""
    out = np.zeros(shape, dtype=bool)
    dst_idx, src_idx = [], []
    for axis in range(3):
        start = max(offset[axis], src_offset[axis])
        stop = min(offset[axis] + shape[axis], src_offset[axis] + src.shape[axis])
        if start >= stop:
            return out
        dst_idx.append(slice(start - offset[axis], stop - offset[axis]))
        src_idx.append(slice(start - src_offset[axis], stop - src_offset[axis]))
    out[tuple(dst_idx)] = src[tuple(src_idx)]
    return out


def _farthest(
    comps: Components,
    ident: int,
    clicked: tuple[Point, ...],
    spacing: tuple[float, float, float],
) -> tuple[float, Point] | None:
    """The voxel of component ``ident`` farthest from its boundary and from ``clicked``."""
    box = comps.box([ident])
    lo = [b[0] for b in box]
    hi = [b[1] for b in box]
    # One voxel of padding: outside the component, and outside the image, is boundary.
    padded = np.pad(comps.mask([ident], box), 1)
    for p in points_in(clicked, lo, hi):
        padded[p[0] - lo[0] + 1, p[1] - lo[1] + 1, p[2] - lo[2] + 1] = False
    if not padded.any():
        return None
    distance = edt.edt(padded, anisotropy=spacing, black_border=True, parallel=1)
    flat = int(np.argmax(distance))  # the first maximum in raster order
    i, j, k = np.unravel_index(flat, distance.shape)
    point = (int(i) - 1 + lo[0], int(j) - 1 + lo[1], int(k) - 1 + lo[2])
    return float(distance.flat[flat]), point


def _by_size(comps: Components, ids: list[int] | None = None) -> list[int]:
    """Component ids, largest first; ties in raster (numbering) order."""
    chosen = list(range(1, comps.count + 1)) if ids is None else ids
    return sorted(chosen, key=lambda i: (-int(comps.sizes[i - 1]), i))


def _largest_error_click(
    comps: Components,
    ids: list[int],
    clicked: tuple[Point, ...],
    spacing: tuple[float, float, float],
) -> Point | None:
    for ident in _by_size(comps, ids):
        found = _farthest(comps, ident, clicked, spacing)
        if found is not None:
            return found[1]
    return None


def _refine_click(label: LabelCase, clicked: tuple[Point, ...]) -> Point | None:
    """The label voxel farthest from its lesion's boundary and from earlier clicks."""
    best: tuple[float, Point] | None = None
    for ident in range(1, label.components.count + 1):
        found = _farthest(label.components, ident, clicked, label.geometry.spacing)
        if found is None:
            continue
        if best is None or found[0] > best[0] or (found[0] == best[0] and found[1] < best[1]):
            best = found
    return None if best is None else best[1]


def lesion_click(
    label: LabelCase, prediction: Prediction, clicked: tuple[Point, ...]
) -> Point | None:
    """The next lesion click (module docstring); ``None`` for an empty label."""
    comps = label.components
    if comps.count == 0:
        return None
    pred, pred_offset = _crop_of(prediction)
    covered = _overlay(pred, pred_offset, comps.labels.shape, comps.offset)
    missed = (comps.labels > 0) & ~covered
    point = None
    if missed.any():
        errors = label_components(missed, comps.offset)
        point = _largest_error_click(errors, list(range(1, errors.count + 1)), clicked, _sp(label))
    return point if point is not None else _refine_click(label, clicked)


def _sp(label: LabelCase) -> tuple[float, float, float]:
    return label.geometry.spacing


def background_click(
    label: LabelCase,
    prediction: Prediction,
    clicked: Clicks,
    settings: ClickSettings,
) -> Point | None:
    """The next background click (module docstring); ``None`` only if no background voxel exists."""
    pred, pred_offset = _crop_of(prediction)
    if pred.any():
        comps = label.components
        on_label = _overlay(comps.labels > 0, comps.offset, pred.shape, pred_offset)
        spurious = pred & ~on_label
        if spurious.any():
            errors = label_components(spurious, pred_offset)
            point = _largest_error_click(
                errors, list(range(1, errors.count + 1)), clicked.points, _sp(label)
            )
            if point is not None:
                return point
    return shell_click(label, clicked.background, settings)


def _in_lesion(label: LabelCase, points: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    comps = label.components
    local = points - np.asarray(comps.offset)
    inside = np.all((local >= 0) & (local < np.asarray(comps.labels.shape)), axis=1)
    hit = np.zeros(len(points), dtype=bool)
    if comps.count and inside.any():
        idx = local[inside]
        hit[inside] = comps.labels[idx[:, 0], idx[:, 1], idx[:, 2]] > 0
    return hit


def shell_click(
    label: LabelCase, previous: tuple[Point, ...], settings: ClickSettings
) -> Point | None:
    """A seeded background voxel near the lesions but off them (the no-false-positive fallback).

    Draws come from NumPy's PCG64 seeded with ``(settings.seed, len(previous))``,
    so each step's draw is reproducible on its own. The first draw that is
    off the lesions, in the shell, and far enough from earlier background
    clicks wins; if a whole series finds none, the spacing to earlier clicks is
    dropped, and as a last resort the first free voxel in raster order is taken.
    """
    shape = np.asarray(label.geometry.shape, dtype=np.int64)
    spacing = np.asarray(_sp(label), dtype=np.float64)
    comps = label.components
    if comps.count:
        margin = np.ceil(settings.background_max_mm / spacing).astype(np.int64)
        box = comps.box(list(range(1, comps.count + 1)))
        lo = np.maximum(np.array([b[0] for b in box]) - margin, 0)
        hi = np.minimum(np.array([b[1] for b in box]) + margin, shape)
        surface = np.concatenate([label.surface((i,)) for i in range(1, comps.count + 1)]).astype(
            np.float64
        )
        tree = spatial.cKDTree(surface * spacing)
    else:
        lo, hi = shape // 4, np.maximum(shape - shape // 4, shape // 4 + 1)
        tree = None
    rng = np.random.default_rng([settings.seed, len(previous)])
    earlier = np.asarray(previous, dtype=np.float64).reshape(-1, 3) * spacing
    seen = False  # whether any draw at all fell in the shell
    for spaced in (True, False):
        for batch in range(_BATCHES):
            draws = lo + rng.integers(0, hi - lo, size=(_BATCH, 3))
            ok = ~_in_lesion(label, draws)
            mm = draws * spacing
            if tree is not None:
                distance = tree.query(mm)[0]
                ok &= (distance >= settings.background_min_mm) & (
                    distance <= settings.background_max_mm
                )
            seen = seen or bool(ok.any())
            if not seen and batch >= 3:
                break  # no shell in this image (a lesion filling it): stop drawing
            if len(earlier):
                gaps = np.sqrt(((mm[:, None, :] - earlier[None, :, :]) ** 2).sum(axis=2)).min(1)
                ok &= gaps >= (settings.background_min_mm if spaced else 0.5 * spacing.min())
            hits = np.flatnonzero(ok)
            if hits.size:
                p = draws[hits[0]]
                return (int(p[0]), int(p[1]), int(p[2]))
    return _first_free(label, previous)


def _first_free(label: LabelCase, previous: tuple[Point, ...]) -> Point | None:
    """The first voxel in raster order that is neither lesion nor clicked (last resort)."""
    shape = label.geometry.shape
    taken = set(previous)
    for x in range(shape[0]):
        plane = np.stack(np.meshgrid([x], np.arange(shape[1]), np.arange(shape[2]), indexing="ij"))
        points = plane.reshape(3, -1).T
        free = np.flatnonzero(~_in_lesion(label, points))
        for f in free:
            p = points[f]
            point = (int(p[0]), int(p[1]), int(p[2]))
            if point not in taken:
                return point
    return None


def next_clicks(
    label: LabelCase,
    prediction: Prediction,
    previous: Clicks,
    settings: ClickSettings,
) -> Clicks:
    """``previous`` plus the next lesion and background click for the current prediction.

    Parameters
    ----------
    label
        The case's prepared label (read once per case).
    prediction
        The current prediction: as :func:`scoring.interactive.steps.score_step`
        returns it (read once for scoring and clicks), a
        :class:`~scoring.io.LesionMask`, its :class:`Components`, or ``None``
        for an empty one.
    previous
        The clicks given so far.
    settings
        The phase's click settings.

    Returns
    -------
    Clicks
        ``previous`` with one more click of each kind (no lesion click for an
        empty label).
    """
    return previous.add(
        lesion=lesion_click(label, prediction, previous.points),
        background=background_click(label, prediction, previous, settings),
    )


def static_clicks(label: LabelCase, settings: ClickSettings) -> Clicks:
    """The clicks of a static (TriALS-format) file: ``settings.count`` of each kind.

    Equivalent to :func:`next_clicks` run against a responder that segments
    exactly the lesions clicked so far (empty at first): with that prediction
    the false negatives are the unclicked lesions themselves, so the lesion
    order comes straight from the label's components.
    """
    comps = label.components
    clicks = Clicks()
    found: set[int] = set()
    for _ in range(settings.count):
        remaining = [i for i in range(1, comps.count + 1) if i not in found]
        point = _largest_error_click(comps, remaining, clicks.points, _sp(label))
        if point is None and comps.count:
            point = _refine_click(label, clicks.points)
        background = shell_click(label, clicks.background, settings)
        clicks = clicks.add(lesion=point, background=background)
        if point is not None:
            o = comps.offset
            found.add(int(comps.labels[point[0] - o[0], point[1] - o[1], point[2] - o[2]]))
    return clicks
