"""The TriALS click file: ``<case_id>_clicks.json``, its reading, validation and writing.

The format (TriALS 2025, Task 2)::

    {"lesion": [[x, y, z], ...], "background": [[x, y, z], ...]}

Each point is a **voxel index**, 0-based, in the image file's own storage
order: ``x`` is the fastest-varying axis on disk. That is nibabel's
``img.get_fdata()[x, y, z]`` and SimpleITK's index ``(x, y, z)``, so
``SimpleITK.GetArrayFromImage(img)[z, y, x]``; no world coordinates and no
reorientation. The TriALS simulator reads the label with nibabel and writes
``argmax`` indices of that array, so its files follow this convention; the
scorer's crops (:mod:`scoring.io`) use the same (x, y, z) order.

A container given ``k`` clicks uses the first ``k`` of each list. Files from
the TriALS simulator itself name the lesion list ``"tumor"``; that key is read
as ``"lesion"`` (and written back as ``"lesion"``).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from scoring.components import Components
from scoring.errors import CaseInputError

Point = tuple[int, int, int]

#: ``<case_id>`` + this is a case's click file.
CLICK_FILE_SUFFIX = "_clicks.json"

#: The two lists of a click file, in the order they are written.
KINDS: tuple[str, str] = ("lesion", "background")

#: Keys read as another (the TriALS simulator writes ``"tumor"``).
ALIASES: dict[str, str] = {"tumor": "lesion"}

#: A click file is a few hundred bytes; anything far larger is not one.
MAX_CLICK_FILE_BYTES = 1 << 20


class Labelled(Protocol):
    """What the checks need of a label (a :class:`~scoring.labelcase.LabelCase`).

    A protocol rather than the class, so that the file format needs no image
    library: the API checks uploaded click files without SimpleITK.
    """

    @property
    def components(self) -> Components:
        """The label's lesions as 6-connected components."""
        ...


class ClickFileError(CaseInputError):
    """A click file that cannot be used; the message lists every problem found."""


@dataclass(frozen=True, slots=True)
class Clicks:
    """The clicks of one case, in the order they are given.

    Examples
    --------
    >>> c = Clicks(lesion=((1, 2, 3), (4, 5, 6)), background=((0, 0, 0),))
    >>> c.first(1).to_json()
    {'lesion': [[1, 2, 3]], 'background': [[0, 0, 0]]}
    """

    lesion: tuple[Point, ...] = ()
    background: tuple[Point, ...] = ()

    def first(self, k: int) -> Clicks:
        """The first ``k`` clicks of each kind (what a container gets for prediction ``k``)."""
        return Clicks(lesion=self.lesion[:k], background=self.background[:k])

    def add(self, *, lesion: Point | None = None, background: Point | None = None) -> Clicks:
        """These clicks plus one more of each kind given."""
        return Clicks(
            lesion=self.lesion + ((lesion,) if lesion is not None else ()),
            background=self.background + ((background,) if background is not None else ()),
        )

    @property
    def points(self) -> tuple[Point, ...]:
        """Every click, lesion then background."""
        return self.lesion + self.background

    def to_json(self) -> dict[str, list[list[int]]]:
        """The TriALS JSON object (lists of ``[x, y, z]``)."""
        return {
            "lesion": [list(p) for p in self.lesion],
            "background": [list(p) for p in self.background],
        }

    def dumps(self) -> str:
        """The file's text."""
        return json.dumps(self.to_json()) + "\n"


@dataclass(frozen=True, slots=True)
class ValidatedClicks:
    """A click file that passed validation, with what is worth telling its author."""

    clicks: Clicks
    warnings: list[str] = field(default_factory=list)


def click_file_name(case_id: str) -> str:
    """``<case_id>_clicks.json``.

    Examples
    --------
    >>> click_file_name("venous_0")
    'venous_0_clicks.json'
    """
    return f"{case_id}{CLICK_FILE_SUFFIX}"


def write_click_file(path: str | os.PathLike[str], clicks: Clicks) -> Path:
    """Write ``clicks`` in the TriALS format (atomically: a reader never sees half a file)."""
    target = Path(path)
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    partial.write_text(clicks.dumps(), encoding="utf-8")
    partial.replace(target)
    return target


def _point(value: Any, *, where: str, shape: Sequence[int] | None, problems: list[str]) -> Point:
    if not isinstance(value, list) or len(value) != 3:
        problems.append(f"{where}: expected [x, y, z] (three voxel indices), got {value!r:.60}")
        return (0, 0, 0)
    coords: list[int] = []
    for axis, v in zip("xyz", value, strict=True):
        whole = isinstance(v, int) and not isinstance(v, bool)
        # 12.0 is unambiguous; 12.5, true or "12" are not.
        whole = whole or (isinstance(v, float) and math.isfinite(v) and v == int(v))
        if not whole:
            problems.append(f"{where}: {axis} = {v!r:.30} is not a whole voxel index")
            return (0, 0, 0)
        coords.append(int(v))
    point = (coords[0], coords[1], coords[2])
    if shape is not None:
        outside = [a for a, v, n in zip("xyz", point, shape, strict=True) if not 0 <= v < n]
        if outside:
            problems.append(
                f"{where}: {list(point)} lies outside the {shape[0]}×{shape[1]}×{shape[2]} "
                f"image (axis {', '.join(outside)}); indices are 0-based voxel indices (x, y, z)"
            )
    elif min(point) < 0:
        problems.append(f"{where}: {list(point)} has a negative voxel index")
    return point


def _label_value(label: Labelled, point: Point) -> bool:
    return bool(label.components.component_at(np.asarray([point]))[0])


def validate_clicks(
    data: Any,
    *,
    count: int,
    shape: Sequence[int] | None = None,
    label: Labelled | None = None,
    name: str = "click file",
) -> ValidatedClicks:
    """Check a parsed click file and return its clicks.

    Parameters
    ----------
    data
        The parsed JSON.
    count
        The phase's number of clicks of each kind; a list may be shorter (a
        case with few lesions), not longer.
    shape
        The image's (x, y, z) shape, to check the indices against.
    label
        The case's label: lesion clicks off the lesions and background clicks
        on them become warnings (an organiser's file may do that on purpose).
    name
        How messages name the file.

    Raises
    ------
    ClickFileError
        With every problem found (structure, types, bounds, counts).

    Examples
    --------
    >>> validate_clicks({"lesion": [[1, 2, 3]], "background": []}, count=10).clicks.lesion
    ((1, 2, 3),)
    >>> validate_clicks({"lesion": [[1, 2]]}, count=10)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    scoring.interactive.clickfile.ClickFileError: click file: lesion[0]: expected [x, y, z] ...
    """
    problems: list[str] = []
    warnings: list[str] = []
    if not isinstance(data, Mapping):
        raise ClickFileError(
            f'{name}: expected a JSON object {{"lesion": [[x, y, z], ...], "background": '
            f"[...]}}, got {type(data).__name__}"
        )
    lists: dict[str, Any] = {}
    for key, value in data.items():
        kind = ALIASES.get(key, key)
        if kind not in KINDS:
            problems.append(
                f"unknown key {key!r} (a click file holds only {' and '.join(map(repr, KINDS))})"
            )
        elif kind in lists:
            problems.append(f"{key!r} repeats the {kind!r} list")
        else:
            lists[kind] = value
    points: dict[str, list[Point]] = {kind: [] for kind in KINDS}
    for kind in KINDS:
        value = lists.get(kind, [])
        if not isinstance(value, list):
            problems.append(f"{kind!r} must be a list of [x, y, z], got {type(value).__name__}")
            continue
        if len(value) > count:
            problems.append(f"{kind!r} holds {len(value)} clicks; this phase uses {count}")
        for i, item in enumerate(value[:count]):
            points[kind].append(_point(item, where=f"{kind}[{i}]", shape=shape, problems=problems))
    if "lesion" not in lists and "background" not in lists:
        problems.append("neither a 'lesion' nor a 'background' list")
    if problems:
        shown = problems[:10] + ([f"... {len(problems) - 10} more"] if len(problems) > 10 else [])
        raise ClickFileError(f"{name}: " + "; ".join(shown))
    for kind in KINDS:
        repeated = sorted({p for p in points[kind] if points[kind].count(p) > 1})
        if repeated:
            warnings.append(f"{name}: {kind} clicks repeat {[list(p) for p in repeated]}")
    if label is not None:
        off = [list(p) for p in points["lesion"] if not _label_value(label, p)]
        on = [list(p) for p in points["background"] if _label_value(label, p)]
        if off:
            warnings.append(f"{name}: lesion clicks outside every lesion of the label: {off}")
        if on:
            warnings.append(f"{name}: background clicks on a lesion of the label: {on}")
    clicks = Clicks(lesion=tuple(points["lesion"]), background=tuple(points["background"]))
    return ValidatedClicks(clicks=clicks, warnings=warnings)


def read_click_file(
    path: str | os.PathLike[str],
    *,
    count: int,
    shape: Sequence[int] | None = None,
    label: Labelled | None = None,
) -> ValidatedClicks:
    """Read and validate a click file (see :func:`validate_clicks`).

    Raises
    ------
    ClickFileError
        If the file is missing, a link, too large, not UTF-8 JSON, or invalid.
    """
    file = Path(path)
    if file.is_symlink():
        raise ClickFileError(f"{file.name}: a symbolic link; upload the file itself")
    if not file.is_file():
        raise ClickFileError(f"{file.name}: file not found")
    size = file.stat().st_size
    if size > MAX_CLICK_FILE_BYTES:
        raise ClickFileError(
            f"{file.name}: {size} bytes; a click file holds a few hundred "
            f"(the limit is {MAX_CLICK_FILE_BYTES} bytes)"
        )
    try:
        data = json.loads(file.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ClickFileError(f"{file.name}: not valid JSON text ({exc})") from exc
    return validate_clicks(data, count=count, shape=shape, label=label, name=file.name)


def points_in(points: Iterable[Point], lo: Sequence[int], hi: Sequence[int]) -> list[Point]:
    """The points inside the half-open box ``[lo, hi)``."""
    return [p for p in points if all(a <= v < b for v, a, b in zip(p, lo, hi, strict=True))]
