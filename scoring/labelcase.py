"""The label side of a case, computed once and reused for every submission.

Reading the label, labelling its components (with their reference numbering)
and extracting the surfaces of its lesions depend only on the label file, so a
:class:`LabelCase` is built once per case and label-set version; it is
picklable, so the server can keep it in a cache or on disk.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from scoring.components import Components, components_from_mask, label_pieces
from scoring.errors import CaseInputError
from scoring.geometry import Geometry
from scoring.io import read_lesions
from scoring.results import Mode
from scoring.surface import group_surface

#: Bumped whenever a cached LabelCase could differ from a freshly computed one.
CACHE_FORMAT = 2

# The reference stores matched predictions in a uint8 mask labelled with the
# reference ids, so its results wrap above this many reference lesions.
REFERENCE_MAX_LESIONS = 255


class LabelError(CaseInputError):
    """The label of a case cannot be used: the organisers must fix it."""


@dataclass(slots=True)
class LabelCase:
    """A label's components, geometry and (lazily) its lesion surfaces.

    Attributes
    ----------
    case_id
        The case's identifier.
    mode
        The mode the label was read in (it decides how non-0/1 values are read).
    geometry
        Shape, spacing, origin, direction in (x, y, z) order.
    components
        The reference lesions, numbered as the reference evaluator numbers them.
    warnings
        Findings the organisers should know about.
    """

    case_id: str
    mode: Mode
    geometry: Geometry
    components: Components
    warnings: list[str] = field(default_factory=list)
    _surfaces: dict[tuple[int, ...], npt.NDArray[np.intp]] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, path: str | os.PathLike[str], *, case_id: str, mode: Mode = "paper") -> LabelCase:
        """Read and prepare the label file of ``case_id``.

        Raises
        ------
        LabelError
            If the label cannot be read (with the reason).
        """
        try:
            voxels = read_lesions(path, mode=mode)
        except CaseInputError as exc:
            raise LabelError(f"label of case {case_id!r}: {exc}") from exc
        case = cls(
            case_id=case_id,
            mode=mode,
            geometry=voxels.geometry,
            components=label_pieces(voxels.pieces),
            warnings=[f"label of case {case_id!r}: {w}" for w in voxels.warnings],
        )
        case._check()
        return case

    @classmethod
    def from_mask(
        cls,
        mask: npt.NDArray[np.bool_],
        *,
        case_id: str,
        spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
        mode: Mode = "paper",
    ) -> LabelCase:
        """A label from an (x, y, z)-indexed boolean array (tests, in-memory use).

        Examples
        --------
        >>> m = np.zeros((4, 4, 4), dtype=bool); m[1:3, 1:3, 1:3] = True
        >>> LabelCase.from_mask(m, case_id="c").components.sizes.tolist()
        [8]
        """
        shape = (int(mask.shape[0]), int(mask.shape[1]), int(mask.shape[2]))
        geometry = Geometry(
            shape=shape,
            spacing=spacing,
            origin=(0.0, 0.0, 0.0),
            direction=(1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0),
        )
        case = cls(
            case_id=case_id,
            mode=mode,
            geometry=geometry,
            components=components_from_mask(mask),
        )
        case._check()
        return case

    def _check(self) -> None:
        if self.mode == "reference" and self.components.count > REFERENCE_MAX_LESIONS:
            self.warnings.append(
                f"label of case {self.case_id!r} has {self.components.count} lesions; the "
                f"reference evaluator's uint8 bookkeeping wraps above {REFERENCE_MAX_LESIONS}, "
                "which reference mode does not replicate"
            )

    def surface(self, ref_ids: tuple[int, ...]) -> npt.NDArray[np.intp]:
        """Surface voxels (volume coordinates) of the reference group ``ref_ids``, cached."""
        points = self._surfaces.get(ref_ids)
        if points is None:
            points = group_surface(self.components, ref_ids)
            self._surfaces[ref_ids] = points
        return points

    def prepare_surfaces(self) -> None:
        """Compute every single lesion's surface now (before caching the object)."""
        for k in range(1, self.components.count + 1):
            self.surface((k,))


def cache_key(path: str | os.PathLike[str], *, mode: Mode) -> str:
    """A key naming the prepared form of a label file: its content, the mode, the format."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"{digest.hexdigest()}-{mode}-v{CACHE_FORMAT}"


def read_cached(
    path: str | os.PathLike[str],
    *,
    case_id: str,
    mode: Mode = "paper",
    cache_dir: str | os.PathLike[str],
) -> LabelCase:
    """:meth:`LabelCase.read`, through a folder of prepared labels keyed by file content.

    The folder holds pickles, so it must be as trusted as the labels themselves
    (the organisers' storage, never a team's).

    Raises
    ------
    LabelError
        If the label cannot be read.
    """
    if not os.path.isfile(path):
        raise LabelError(f"label of case {case_id!r}: {os.path.basename(path)}: file not found")
    entry = Path(cache_dir) / f"{cache_key(path, mode=mode)}.pickle"
    if entry.is_file():
        try:
            cached = pickle.loads(entry.read_bytes())  # noqa: S301 (organiser-owned cache)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
            cached = None  # damaged or from another version: prepared again below
        if isinstance(cached, LabelCase):
            cached.case_id = case_id
            return cached
    label = LabelCase.read(path, case_id=case_id, mode=mode)
    label.prepare_surfaces()
    entry.parent.mkdir(parents=True, exist_ok=True)
    partial = entry.with_suffix(f".{os.getpid()}.tmp")
    partial.write_bytes(pickle.dumps(label, protocol=pickle.HIGHEST_PROTOCOL))
    partial.replace(entry)  # atomic: parallel workers never read half a file
    return label
