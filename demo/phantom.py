"""Synthetic CT-like abdomen phantoms with liver lesions, for the demo and the tests.

A phantom is one patient seen twice on the same grid: a portal-venous scan and a
non-contrast (NCCT) scan. Every lesion is visible on the venous scan (hypo- or
hyper-enhancing); only some stand out from the liver on the NCCT, which is what
TriALS Task 2 calls the *visible* lesions. Intensities are Hounsfield units,
stored as int16 like a real scan.

Arrays are indexed (z, y, x), as SimpleITK returns them; ``spacing`` is given in
(x, y, z) millimetres, as SimpleITK takes it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

Int16Array = npt.NDArray[np.int16]
UInt8Array = npt.NDArray[np.uint8]
FloatArray = npt.NDArray[np.float32]

#: Voxels of the default phantom, (z, y, x).
DEFAULT_SHAPE: tuple[int, int, int] = (64, 96, 96)
#: A coarse abdominal CT grid, (x, y, z) mm, so organs and lesions have their real sizes.
DEFAULT_SPACING: tuple[float, float, float] = (3.0, 3.0, 2.5)
#: Lesion radii drawn uniformly from this range (mm): 8-32 mm diameters, the bulk of
#: the lesions in the TriALS and LiTS reference sets.
LESION_RADIUS_MM: tuple[float, float] = (4.0, 16.0)
#: Chance that a lesion stands out on the non-contrast scan.
VISIBLE_ON_NCCT = 0.6

AIR_HU = -1000
FAT_HU = -90
BONE_HU = 450
NOISE_HU = 10.0


@dataclass(frozen=True)
class Phantom:
    """One synthetic patient: both scans and the three TriALS label maps.

    Attributes
    ----------
    venous, noncontrast
        The two scans (int16, HU), same grid.
    venous_label
        Every lesion (1) on the venous scan.
    visible_label
        The lesions that stand out on the non-contrast scan (a subset).
    combined_label
        The union of the visible lesions and those carried over from the
        contrast phase; with both scans on one grid that is every lesion.
    n_lesions, n_visible
        How many lesions there are, and how many of them the NCCT shows.
    """

    venous: Int16Array
    noncontrast: Int16Array
    venous_label: UInt8Array
    visible_label: UInt8Array
    combined_label: UInt8Array
    n_lesions: int
    n_visible: int


def _smooth_field(
    rng: np.random.Generator, shape: tuple[int, int, int], *, coarse: int = 8
) -> FloatArray:
    """A smooth random field in about [-1, 1]; drawn coarse and upsampled because a
    large Gaussian filter on the full grid costs ten times more."""
    small = tuple(max(2, s // coarse) for s in shape)
    field = ndimage.zoom(
        rng.standard_normal(small), [s / c for s, c in zip(shape, small, strict=True)], order=1
    )
    field = field[: shape[0], : shape[1], : shape[2]]
    field = np.pad(
        field, [(0, s - f) for s, f in zip(shape, field.shape, strict=True)], mode="edge"
    )
    return (field / max(float(np.abs(field).max()), 1e-6)).astype(np.float32)


def _coordinates(
    shape: tuple[int, int, int], spacing: tuple[float, float, float]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Millimetre coordinates (z, y, x) of every voxel, centred on the volume."""
    sx, sy, sz = spacing
    axes = [
        (np.arange(n, dtype=np.float32) - (n - 1) / 2) * step
        for n, step in zip(shape, (sz, sy, sx), strict=True)
    ]
    z, y, x = np.meshgrid(*axes, indexing="ij", sparse=True)
    return z, y, x


def _place_lesions(
    rng: np.random.Generator,
    *,
    liver: npt.NDArray[np.bool_],
    n_lesions: int,
    spacing: tuple[float, float, float],
) -> list[npt.NDArray[np.bool_]]:
    """Irregular ellipsoids wholly inside the liver, apart from each other."""
    sx, sy, sz = spacing
    depth = ndimage.distance_transform_edt(liver, sampling=(sz, sy, sx))
    field = _smooth_field(rng, liver.shape, coarse=4)
    lesions: list[npt.NDArray[np.bool_]] = []
    centres: list[tuple[npt.NDArray[np.float64], float]] = []
    for _ in range(n_lesions):
        placed: tuple[npt.NDArray[np.float64], float] | None = None
        for _attempt in range(50):
            radius = float(rng.uniform(*LESION_RADIUS_MM))
            # Room for the irregular rim and a margin of liver around it.
            room = np.argwhere(depth > radius * 1.3 + 4.0)
            if len(room) == 0:
                continue
            centre = room[rng.integers(len(room))].astype(np.float64)
            centre_mm = centre * np.array([sz, sy, sx])
            if all(np.linalg.norm(centre_mm - c) > radius + r + 6.0 for c, r in centres):
                placed = (centre, radius)
                break
        if placed is None:
            continue
        centre, radius = placed
        semi = radius * rng.uniform(0.8, 1.2, size=3)
        half = np.ceil(semi * 1.3 / np.array([sz, sy, sx])).astype(int) + 1
        lo = np.maximum(centre.astype(int) - half, 0)
        hi = np.minimum(centre.astype(int) + half + 1, liver.shape)
        box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
        grids = np.meshgrid(
            *[
                (np.arange(a, b) - c) * step / s
                for a, b, c, step, s in zip(lo, hi, centre, (sz, sy, sx), semi, strict=True)
            ],
            indexing="ij",
            sparse=True,
        )
        radial = np.sqrt(sum(g**2 for g in grids))
        mask = np.zeros(liver.shape, dtype=bool)
        mask[box] = radial <= 1.0 + 0.15 * field[box]
        mask &= liver
        lesions.append(mask)
        centres.append((centre * np.array([sz, sy, sx]), radius))
    return lesions


def synthesize_phantom(
    *,
    seed: int,
    shape: tuple[int, int, int] = DEFAULT_SHAPE,
    spacing: tuple[float, float, float] = DEFAULT_SPACING,
    n_lesions: int | None = None,
) -> Phantom:
    """Make one synthetic patient.

    Parameters
    ----------
    seed
        Everything about the patient follows from it.
    shape
        Voxels, (z, y, x); at least 16 along each axis.
    spacing
        Voxel size in mm, (x, y, z).
    n_lesions
        How many lesions to place; drawn from 0-4 when ``None``. Fewer are placed
        when the liver has no room for them.

    Returns
    -------
    Phantom
        The scans and labels.

    Examples
    --------
    >>> p = synthesize_phantom(seed=1, shape=(24, 40, 40), spacing=(7.0, 7.0, 6.0), n_lesions=1)
    >>> p.venous.dtype.name, p.venous.shape, int(p.venous_label.max()), p.n_lesions
    ('int16', (24, 40, 40), 1, 1)
    """
    if len(shape) != 3 or min(shape) < 16:
        raise ValueError(f"shape must be three sizes of at least 16 voxels, got {shape}")
    if len(spacing) != 3 or min(spacing) <= 0:
        raise ValueError(f"spacing must be three positive sizes in mm, got {spacing}")
    if n_lesions is not None and not 0 <= n_lesions <= 10:
        raise ValueError(f"n_lesions must be between 0 and 10, got {n_lesions}")
    rng = np.random.default_rng(seed)
    z, y, x = _coordinates(shape, spacing)
    half_x = (shape[2] - 1) / 2 * spacing[0]
    half_y = (shape[1] - 1) / 2 * spacing[1]
    half_z = (shape[0] - 1) / 2 * spacing[2]

    body_a, body_b = half_x * rng.uniform(0.82, 0.9), half_y * rng.uniform(0.68, 0.76)
    body_r = (x / body_a) ** 2 + (y / body_b) ** 2
    body = np.broadcast_to(body_r <= 1.0, shape)
    muscle = np.broadcast_to((body_r <= 1.0) & (body_r > 0.85), shape)
    spine = np.broadcast_to(x**2 + (y - 0.6 * body_b) ** 2 <= (0.12 * body_b) ** 2, shape)

    liver_c = (0.0, -0.1 * body_b, -0.38 * body_a)
    liver_s = (0.75 * half_z, 0.55 * body_b, 0.42 * body_a)
    liver_r = ((z - liver_c[0]) / liver_s[0]) ** 2 + ((y - liver_c[1]) / liver_s[1]) ** 2
    liver_r = liver_r + ((x - liver_c[2]) / liver_s[2]) ** 2
    liver = np.sqrt(liver_r) <= 1.0 + 0.08 * _smooth_field(rng, shape)
    spleen_r = ((z + 0.1 * half_z) / (0.35 * half_z)) ** 2 + (
        (y - 0.2 * body_b) / (0.3 * body_b)
    ) ** 2
    spleen = spleen_r + ((x - 0.6 * body_a) / (0.18 * body_a)) ** 2 <= 1.0

    count = int(rng.integers(0, 5)) if n_lesions is None else n_lesions
    lesions = _place_lesions(rng, liver=liver, n_lesions=count, spacing=spacing)

    liver_ncct = rng.normal(58.0, 4.0)
    liver_venous = rng.normal(115.0, 8.0)
    venous = np.full(shape, AIR_HU, dtype=np.float32)
    noncontrast = np.full(shape, AIR_HU, dtype=np.float32)
    for image, tissue in (
        (venous, (60.0, 125.0, liver_venous)),
        (noncontrast, (42.0, 48.0, liver_ncct)),
    ):
        image[body] = FAT_HU
        image[muscle] = tissue[0]
        image[spine] = BONE_HU
        image[spleen & body] = tissue[1]
        image[liver] = tissue[2]

    venous_label = np.zeros(shape, dtype=np.uint8)
    visible_label = np.zeros(shape, dtype=np.uint8)
    n_visible = 0
    for mask in lesions:
        venous_label[mask] = 1
        # Most metastases wash out on the venous phase; some (e.g. HCC, haemangioma) stay bright.
        venous[mask] = liver_venous + (
            rng.normal(45.0, 8.0) if rng.random() < 0.3 else rng.normal(-55.0, 8.0)
        )
        if rng.random() < VISIBLE_ON_NCCT:
            noncontrast[mask] = liver_ncct - rng.normal(24.0, 4.0)
            visible_label[mask] = 1
            n_visible += 1
        else:
            noncontrast[mask] = liver_ncct - 1.0

    scans = []
    for image in (venous, noncontrast):
        # Partial-volume blur, then quantum noise: what makes a threshold's job non-trivial.
        blurred = ndimage.gaussian_filter(image, sigma=0.6)
        noisy = blurred + rng.normal(0.0, NOISE_HU, size=shape).astype(np.float32)
        scans.append(np.clip(np.rint(noisy), -1024, 3071).astype(np.int16))
    return Phantom(
        venous=scans[0],
        noncontrast=scans[1],
        venous_label=venous_label,
        visible_label=visible_label,
        combined_label=venous_label.copy(),
        n_lesions=len(lesions),
        n_visible=n_visible,
    )
