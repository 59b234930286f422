"""Surface distances between two binary objects, in millimetres.

The surface of an object is the object minus its binary erosion with the
18-neighbourhood (3×3×3 without the 8 corners), outside the array counting as
background (the reference's ``Surface.compute_contour``). Distances from each
surface voxel to the nearest voxel of the other surface are exact (a KD-tree on
the surface points in mm). Each object is handled on its own bounding box, so
the work is proportional to the lesion, not the volume.

The erosion is plain numpy (shifted ANDs), so importing this module costs
nothing; scipy's KD-tree is imported when the first distance is computed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from scoring.components import Components

FloatArray = npt.NDArray[np.float64]


def surface_voxels(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """(n, 3) indices of the surface voxels of ``mask``.

    Examples
    --------
    >>> cube = np.ones((3, 3, 3), dtype=bool)
    >>> len(surface_voxels(cube))  # all but the centre, which the 18-neighbourhood erodes away
    26
    """
    # Padding by one makes "outside is background" explicit. The 18-neighbourhood
    # is the full 3×3 square in the voxel's own plane of the first axis and the
    # 5-voxel cross in the planes on either side; both are built from shifts.
    p = np.pad(mask, 1)
    rows = p[:, :-2, :] & p[:, 1:-1, :] & p[:, 2:, :]
    square = rows[:, :, :-2] & rows[:, :, 1:-1] & rows[:, :, 2:]
    centre = p[:, 1:-1, 1:-1]
    cross = centre & p[:, :-2, 1:-1] & p[:, 2:, 1:-1] & p[:, 1:-1, :-2] & p[:, 1:-1, 2:]
    eroded = square[1:-1] & cross[:-2] & cross[2:]
    edge = centre[1:-1] & ~eroded
    points: npt.NDArray[np.intp] = np.argwhere(edge)
    return points


@dataclass(frozen=True, slots=True)
class SurfaceDistances:
    """Pooled symmetric surface distances between a prediction and a reference."""

    assd: float
    rmsd: float
    msd: float


def surface_distances(
    pred_points: FloatArray,
    ref_points: FloatArray,
    *,
    shared: tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]] | None = None,
) -> SurfaceDistances:
    """ASSD, RMSD and MSD between two surfaces given as points in mm.

    ASSD and RMSD pool both directions' distances (not the mean of the two
    directed means); MSD is the larger directed maximum. ``shared`` may flag
    the points of each surface that are also points of the other: their
    distance is 0 and is not looked up.

    Examples
    --------
    >>> a = np.array([[0.0, 0.0, 0.0]])
    >>> b = np.array([[0.0, 0.0, 3.0], [0.0, 4.0, 0.0]])
    >>> surface_distances(a, b)
    SurfaceDistances(assd=3.333333333333333, rmsd=3.3665016461206925, msd=4.0)
    """
    if len(pred_points) == 0 or len(ref_points) == 0:
        raise ValueError("surface distances need two non-empty surfaces")
    pred_in_ref, ref_in_pred = shared if shared is not None else (None, None)
    ref_to_pred = _nearest(pred_points, ref_points, known=ref_in_pred)
    pred_to_ref = _nearest(ref_points, pred_points, known=pred_in_ref)
    n = len(pred_points) + len(ref_points)
    assd = 1.0 / n * (float(ref_to_pred.sum()) + float(pred_to_ref.sum()))
    rmsd = math.sqrt(1.0 / n) * math.sqrt(
        float((ref_to_pred * ref_to_pred).sum()) + float((pred_to_ref * pred_to_ref).sum())
    )
    msd = max(float(ref_to_pred.max()), float(pred_to_ref.max()))
    return SurfaceDistances(assd=assd, rmsd=rmsd, msd=msd)


def _nearest(
    points: FloatArray, queries: FloatArray, *, known: npt.NDArray[np.bool_] | None
) -> FloatArray:
    """Distance from each query to the nearest of ``points``; 0 where ``known``."""
    from scipy.spatial import cKDTree  # noqa: PLC0415 (heavy: only when a lesion is detected)

    tree = cKDTree(points)
    if known is None:
        found: FloatArray = tree.query(queries)[0]
        return found
    distances = np.zeros(len(queries), dtype=np.float64)
    rest = ~known
    if rest.any():
        distances[rest] = tree.query(queries[rest])[0]
    return distances


def voxel_surface_distances(
    pred_voxels: npt.NDArray[np.intp],
    ref_voxels: npt.NDArray[np.intp],
    spacing: tuple[float, float, float],
) -> SurfaceDistances:
    """:func:`surface_distances` of two surfaces given as voxel indices (same grid).

    A voxel on both surfaces is at distance 0 from the other surface; only the
    others are looked up in the KD-trees (about half of them for a good match).

    Examples
    --------
    >>> a = np.array([[0, 0, 0], [0, 0, 1]])
    >>> b = np.array([[0, 0, 1], [0, 2, 1]])
    >>> voxel_surface_distances(a, b, (1.0, 0.5, 2.0))
    SurfaceDistances(assd=0.75, rmsd=1.118033988749895, msd=2.0)
    """
    lo = np.minimum(pred_voxels.min(axis=0), ref_voxels.min(axis=0))
    extent = np.maximum(pred_voxels.max(axis=0), ref_voxels.max(axis=0)) - lo + 1

    def keys(voxels: npt.NDArray[np.intp]) -> npt.NDArray[np.int64]:
        v = (voxels - lo).astype(np.int64)
        flat: npt.NDArray[np.int64] = (v[:, 0] * extent[1] + v[:, 1]) * extent[2] + v[:, 2]
        return flat

    pred_keys, ref_keys = keys(pred_voxels), keys(ref_voxels)
    shared = (np.isin(pred_keys, ref_keys), np.isin(ref_keys, pred_keys))
    return surface_distances(to_mm(pred_voxels, spacing), to_mm(ref_voxels, spacing), shared=shared)


def to_mm(points: npt.NDArray[np.intp], spacing: tuple[float, float, float]) -> FloatArray:
    """Voxel indices (volume coordinates) to millimetres."""
    mm: FloatArray = points.astype(np.float64) * np.asarray(spacing, dtype=np.float64)
    return mm


def group_surface(components: Components, ids: Sequence[int]) -> npt.NDArray[np.intp]:
    """Surface voxels (volume coordinates) of the union of components ``ids``.

    The union is eroded as one object: two components that touch along an edge
    hide part of each other's surface.
    """
    box = components.box(ids)
    mask = components.mask(ids, box)
    lo = np.array([b[0] for b in box], dtype=np.intp)
    points: npt.NDArray[np.intp] = surface_voxels(mask) + lo
    return points
