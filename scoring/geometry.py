"""Image geometry and the checks between a prediction and its label.

The reference evaluator checks only that array shapes match and takes the
spacing from the label. Podium makes a shape mismatch an invalid case and
reports spacing, origin or direction differences as warnings (docs/evaluation.md,
"Inputs").
"""

from __future__ import annotations

from dataclasses import dataclass

from scoring.errors import CaseInputError

#: Relative tolerance beyond which prediction and label geometry differ.
GEOMETRY_RTOL = 1e-3


@dataclass(frozen=True, slots=True)
class Geometry:
    """Shape, spacing, origin and direction of an image, in (x, y, z) order."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]
    direction: tuple[float, ...]


def _differs(a: tuple[float, ...], b: tuple[float, ...], *, scale: float) -> bool:
    return any(
        abs(u - v) > GEOMETRY_RTOL * max(abs(u), abs(v), scale) for u, v in zip(a, b, strict=True)
    )


def check_geometry(pred: Geometry, label: Geometry, *, name: str) -> list[str]:
    """Compare a prediction's geometry with its label's.

    Returns the warnings (spacing, origin or direction differing beyond
    :data:`GEOMETRY_RTOL` relative; the label's spacing is used).

    Raises
    ------
    CaseInputError
        If the shapes differ: the voxels cannot be matched.

    Examples
    --------
    >>> g = Geometry((4, 4, 2), (1.0, 1.0, 2.5), (0.0, 0.0, 0.0), (1, 0, 0, 0, 1, 0, 0, 0, 1))
    >>> check_geometry(g, g, name="c.nii.gz")
    []
    >>> other = Geometry((4, 4, 2), (1.0, 1.0, 3.0), g.origin, g.direction)
    >>> print(*check_geometry(other, g, name="c"))  # doctest: +ELLIPSIS
    c: voxel spacing (1.0, 1.0, 3.0) differs from the label's (1.0, 1.0, 2.5); the label's ...
    """
    if pred.shape != label.shape:
        raise CaseInputError(
            f"{name}: prediction shape {pred.shape} differs from the label's {label.shape} "
            "(x, y, z); write the prediction on the input image's grid"
        )
    warnings = []
    spacing_scale = max(abs(v) for v in label.spacing)
    if _differs(pred.spacing, label.spacing, scale=spacing_scale):
        warnings.append(
            f"{name}: voxel spacing {pred.spacing} differs from the label's {label.spacing}; "
            "the label's spacing is used"
        )
    if _differs(pred.origin, label.origin, scale=spacing_scale):
        warnings.append(f"{name}: origin {pred.origin} differs from the label's {label.origin}")
    if _differs(pred.direction, label.direction, scale=1.0):
        warnings.append(
            f"{name}: direction {pred.direction} differs from the label's {label.direction}"
        )
    return warnings
