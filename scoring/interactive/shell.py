"""The background click when the prediction has no false positive: a seeded point near the lesions.

A voxel at ``background_min_mm``…``background_max_mm`` from the nearest lesion
voxel (near enough to lie in the organ, far enough to be unambiguous), off the
lesions, and at least ``background_min_mm`` from earlier background clicks;
with an empty label, a voxel of the image's central half. Distances to the
lesions come from a k-d tree on the lesions' surfaces (the nearest lesion voxel
of an outside point is always a surface voxel), so no distance map of the
volume is ever built.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import spatial

from scoring.interactive.clickfile import Point
from scoring.interactive.settings import ClickSettings
from scoring.labelcase import LabelCase

# Rejection sampling: draws per batch, batches per round.
_BATCH = 1024
_BATCHES = 32


def _in_lesion(label: LabelCase, points: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    hit: npt.NDArray[np.bool_] = label.components.component_at(points) > 0
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
    spacing = np.asarray(label.geometry.spacing, dtype=np.float64)
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
