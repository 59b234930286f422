"""Surface distances between two binary objects, in millimetres.

The surface of an object is the object minus its binary erosion with the
18-neighbourhood (3×3×3 without the 8 corners), outside the array counting as
background (the reference's ``Surface.compute_contour``). Distances from each
surface voxel to the nearest voxel of the other surface are exact (a KD-tree on
the surface points in mm). Each object is handled on its own bounding box, so
the work is proportional to the lesion, not the volume.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage, spatial

from scoring.lesions import Components

#: The 18-neighbourhood structuring element.
NEIGHBOURHOOD_18 = ndimage.generate_binary_structure(3, 2)

FloatArray = npt.NDArray[np.float64]


def surface_voxels(mask: npt.NDArray[np.bool_]) -> npt.NDArray[np.intp]:
    """(n, 3) indices of the surface voxels of ``mask``.

    Examples
    --------
    >>> cube = np.ones((3, 3, 3), dtype=bool)
    >>> len(surface_voxels(cube))  # all but the centre, which the 18-neighbourhood erodes away
    26
    """
    # Padding by one makes "outside is background" explicit and independent of
    # scipy's border_value handling.
    padded = np.pad(mask, 1)
    eroded = ndimage.binary_erosion(padded, structure=NEIGHBOURHOOD_18)
    edge = padded & ~eroded
    points: npt.NDArray[np.intp] = np.argwhere(edge) - 1
    return points


@dataclass(frozen=True, slots=True)
class SurfaceDistances:
    """Pooled symmetric surface distances between a prediction and a reference."""

    assd: float
    rmsd: float
    msd: float


def surface_distances(pred_points: FloatArray, ref_points: FloatArray) -> SurfaceDistances:
    """ASSD, RMSD and MSD between two surfaces given as points in mm.

    ASSD and RMSD pool both directions' distances (not the mean of the two
    directed means); MSD is the larger directed maximum.

    Examples
    --------
    >>> a = np.array([[0.0, 0.0, 0.0]])
    >>> b = np.array([[0.0, 0.0, 3.0], [0.0, 4.0, 0.0]])
    >>> surface_distances(a, b)
    SurfaceDistances(assd=3.333333333333333, rmsd=3.3665016461206925, msd=4.0)
    """
    if len(pred_points) == 0 or len(ref_points) == 0:
        raise ValueError("surface distances need two non-empty surfaces")
    ref_to_pred = spatial.cKDTree(pred_points).query(ref_points)[0]
    pred_to_ref = spatial.cKDTree(ref_points).query(pred_points)[0]
    n = len(pred_points) + len(ref_points)
    assd = 1.0 / n * (float(ref_to_pred.sum()) + float(pred_to_ref.sum()))
    rmsd = math.sqrt(1.0 / n) * math.sqrt(
        float((ref_to_pred * ref_to_pred).sum()) + float((pred_to_ref * pred_to_ref).sum())
    )
    msd = max(float(ref_to_pred.max()), float(pred_to_ref.max()))
    return SurfaceDistances(assd=assd, rmsd=rmsd, msd=msd)


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
