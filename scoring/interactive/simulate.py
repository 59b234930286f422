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
region's own bounding box (:mod:`scoring.interactive.regions`), so a step costs
in proportion to the errors, not the volume.
"""

from __future__ import annotations

import numpy as np

from scoring.components import Components, intersection_table, label_pieces
from scoring.interactive.clickfile import Clicks, Point
from scoring.interactive.regions import (
    Region,
    deepest_in_first,
    error_regions,
    farthest_voxel,
    overlaps,
)
from scoring.interactive.settings import MAX_CLICKS, ClickSettings
from scoring.interactive.shell import shell_click
from scoring.interactive.steps import PredictionRead
from scoring.io import LesionMask
from scoring.labelcase import LabelCase

__all__ = [
    "MAX_CLICKS",
    "ClickSettings",
    "Prediction",
    "background_click",
    "lesion_click",
    "next_clicks",
    "shell_click",
    "static_clicks",
]

Prediction = PredictionRead | Components | LesionMask | None


def _components(prediction: Prediction) -> Components:
    if prediction is None:
        return label_pieces(())
    if isinstance(prediction, PredictionRead):
        return prediction.components
    if isinstance(prediction, Components):
        return prediction
    return label_pieces(prediction.pieces)


def _refine_click(label: LabelCase, clicked: tuple[Point, ...]) -> Point | None:
    """The label voxel farthest from its lesion's boundary and from earlier clicks."""
    best: tuple[float, Point] | None = None
    for ident in range(1, label.components.count + 1):
        found = farthest_voxel(label.components, ident, clicked, label.geometry.spacing)
        if found is None:
            continue
        if best is None or found[0] > best[0] or (found[0] == best[0] and found[1] < best[1]):
            best = found
    return None if best is None else best[1]


def lesion_click(
    label: LabelCase,
    prediction: Prediction,
    clicked: tuple[Point, ...],
    *,
    table: dict[tuple[int, int], int] | None = None,
) -> Point | None:
    """The next lesion click (module docstring); ``None`` for an empty label.

    ``table``: the prediction's :func:`~scoring.lesions.intersection_table`
    with the label, if already at hand.
    """
    ref = label.components
    if ref.count == 0:
        return None
    pred = _components(prediction)
    table = intersection_table(pred, ref) if table is None else table
    covered = overlaps(table, ref.count, side=1)
    point = deepest_in_first(error_regions(ref, pred, covered), clicked, label.geometry.spacing)
    return point if point is not None else _refine_click(label, clicked)


def background_click(
    label: LabelCase,
    prediction: Prediction,
    clicked: Clicks,
    settings: ClickSettings,
    *,
    table: dict[tuple[int, int], int] | None = None,
) -> Point | None:
    """The next background click (module docstring); ``None`` only if no background voxel exists.

    ``table`` as for :func:`lesion_click`.
    """
    pred = _components(prediction)
    if pred.count:
        ref = label.components
        table = intersection_table(pred, ref) if table is None else table
        covered = overlaps(table, pred.count, side=0)
        regions = error_regions(pred, ref, covered)
        point = deepest_in_first(regions, clicked.points, label.geometry.spacing)
        if point is not None:
            return point
    return shell_click(label, clicked.background, settings)


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
    pred = _components(prediction)
    table = intersection_table(pred, label.components)
    return previous.add(
        lesion=lesion_click(label, pred, previous.points, table=table),
        background=background_click(label, pred, previous, settings, table=table),
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
        # Unclicked lesions, largest first; numbering order is raster order.
        remaining = sorted(
            (i for i in range(1, comps.count + 1) if i not in found),
            key=lambda i: (-int(comps.sizes[i - 1]), i),
        )
        regions = (Region(int(comps.sizes[i - 1]), comps, i) for i in remaining)
        point = deepest_in_first(regions, clicks.points, label.geometry.spacing)
        if point is None and comps.count:
            point = _refine_click(label, clicks.points)
        background = shell_click(label, clicks.background, settings)
        clicks = clicks.add(lesion=point, background=background)
        if point is not None:
            found.add(int(comps.component_at(np.asarray([point]))[0]))
    return clicks
