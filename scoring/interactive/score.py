"""Scoring a whole interactive case: finding its per-click files, reading each once, the curve.

Layout (the TriALS template's): ``PRED_DIR/<id>/<id>_<k>.nii.gz`` for k = 0…N
(also ``.nii`` and ``.mha``). The label is prepared once
(:class:`~scoring.labelcase.LabelCase`) and every prediction file is read
once, a few at a time in threads (decompression releases the GIL), so a case
costs one label read plus N + 1 prediction reads.

Anything else in the folder is named and ignored: click counts above N, names
that are not ``<id>_<k>`` (``_03``, ``_final``), a second file for the same
click count. A missing click count is scored as an empty prediction and named;
links and non-files are invalid predictions (a container's output must not
point the scorer at other files).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from scoring.formats import EXTENSIONS
from scoring.interactive.results import InteractiveCaseResult, StepResult
from scoring.interactive.steps import score_step, union_surface, unusable_step
from scoring.labelcase import LabelCase
from scoring.results import Mode

_CLICK_COUNT = re.compile(r"0|[1-9][0-9]{0,5}")

# Names of ignored files quoted in one message; the rest are counted.
_SHOWN = 10

# Entries of a case folder looked at to name the ignored ones.
_MAX_LISTED = 1000


@dataclass(slots=True)
class ClickPredictions:
    """The per-click files found for one case.

    ``paths[k]`` is the file for k clicks (``None``: none found);
    ``invalid[k]`` says why step k cannot be read at all (a link, a folder);
    ``warnings`` names what was ignored.
    """

    paths: list[Path | None]
    invalid: dict[int, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _split(name: str, case_id: str) -> tuple[str, str] | None:
    """``(click count text, extension)`` of ``<case_id>_<text><ext>``, or None."""
    if not name.startswith(f"{case_id}_"):
        return None
    rest = name[len(case_id) + 1 :]
    for ext in EXTENSIONS:
        if rest.endswith(ext):
            return rest[: -len(ext)], ext
    return None


def _why_ignored(name: str, case_id: str, used: list[Path | None]) -> str:
    """``name`` with the reason it is not one of the case's per-click files."""
    parts = _split(name, case_id)
    if parts is None or not parts[0].isdigit():
        return name
    k = int(parts[0])
    if not _CLICK_COUNT.fullmatch(parts[0]):
        return f"{name} (write click count {k} as {case_id}_{k})"
    if k >= len(used):
        return f"{name} (this phase has 0…{len(used) - 1} clicks)"
    chosen = used[k]
    return f"{name} ({chosen.name if chosen else 'another file'} is used)"


def find_click_predictions(
    case_dir: str | os.PathLike[str], case_id: str, *, clicks: int
) -> ClickPredictions:
    """Find ``<case_id>_<k><ext>`` for k = 0…``clicks`` in ``case_dir``.

    Examples
    --------
    >>> found = find_click_predictions("/nonexistent/c", "c", clicks=2)
    >>> found.paths, found.warnings
    ([None, None, None], ["case 'c': no prediction folder c/"])
    """
    folder = Path(case_dir)
    found = ClickPredictions(paths=[None] * (clicks + 1))
    where = f"case {case_id!r}"
    if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
        what = "a symbolic link" if folder.is_symlink() else "not a folder"
        for k in range(clicks + 1):
            found.invalid[k] = f"{folder.name}/ is {what}; write the predictions in a folder"
        return found
    if not folder.is_dir():
        found.warnings.append(f"{where}: no prediction folder {folder.name}/")
        return found
    # The expected names are looked up directly, so a folder of a million files
    # costs nothing more; the listing below only names what is ignored.
    used: set[str] = set()
    for k in range(clicks + 1):
        present = [e for e in EXTENSIONS if os.path.lexists(folder / f"{case_id}_{k}{e}")]
        if not present:
            continue
        name = f"{case_id}_{k}{present[0]}"
        used.add(name)
        path = folder / name
        found.paths[k] = path
        if path.is_symlink():
            found.invalid[k] = f"{name} is a symbolic link; write the prediction as a file"
        elif not path.is_file():
            found.invalid[k] = f"{name} is not a regular file"
    ignored: list[str] = []
    listed = 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name in used:
                continue
            listed += 1
            if listed > _MAX_LISTED:
                break
            ignored.append(_why_ignored(entry.name, case_id, found.paths))
    ignored.sort()
    if ignored:
        shown = ignored[:_SHOWN] + (
            [f"and {len(ignored) - _SHOWN} more"] if len(ignored) > _SHOWN else []
        )
        count = f"{len(ignored)} file(s)"
        if listed > _MAX_LISTED:
            count = f"more than {_MAX_LISTED} files (only {_MAX_LISTED} were looked at)"
        found.warnings.append(f"{where}: ignored {count}: {', '.join(shown)}")
    missing = [k for k, p in enumerate(found.paths) if p is None]
    if missing:
        found.warnings.append(
            f"{where}: no prediction for {len(missing)} click count(s): "
            f"{', '.join(map(str, missing))} (scored as empty predictions)"
        )
    return found


def score_interactive_case(
    label: LabelCase,
    predictions: ClickPredictions | Sequence[str | os.PathLike[str] | None],
    *,
    mode: Mode = "paper",
    jobs: int = 2,
) -> InteractiveCaseResult:
    """Score the N + 1 predictions of one case against its prepared label.

    Parameters
    ----------
    label
        Read once, in ``paper`` mode (lesion = 1), reused for every prediction.
    predictions
        From :func:`find_click_predictions`, or ``predictions[k]`` = the file
        for k clicks (``None``: missing). The same path at several click
        counts (a closed loop carrying a prediction forward) is read once.
    mode
        ``"paper"`` or ``"reference"`` (see :mod:`scoring.interactive.results`).
    jobs
        Files read at the same time.

    Returns
    -------
    InteractiveCaseResult
        Never raises for a bad prediction: missing ones are ``"missing"``,
        unreadable ones ``"invalid"``, both scored as empty predictions.
    """
    found = (
        predictions
        if isinstance(predictions, ClickPredictions)
        else ClickPredictions(paths=[Path(p) if p is not None else None for p in predictions])
    )
    # The label's surface is shared by every step: compute it before the threads.
    union_surface(label.components, label.surface)
    first: dict[str, int] = {}
    for k, p in enumerate(found.paths):
        if p is not None and k not in found.invalid:
            first.setdefault(str(p), k)

    def _score(item: tuple[str, int]) -> tuple[str, StepResult]:
        return item[0], score_step(label, item[0], clicks=item[1], mode=mode)[0]

    if jobs > 1 and len(first) > 1:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            scored = dict(pool.map(_score, first.items()))
    else:
        scored = dict(map(_score, first.items()))
    steps: list[StepResult] = []
    where = f"case {label.case_id!r}"
    for k, path in enumerate(found.paths):
        if k in found.invalid:
            steps.append(
                unusable_step(
                    label,
                    clicks=k,
                    status="invalid",
                    errors=[f"{where}, {k} click(s): {found.invalid[k]}"],
                )
            )
        elif path is None:
            steps.append(
                unusable_step(
                    label,
                    clicks=k,
                    status="missing",
                    errors=[f"{where}, {k} click(s): no prediction file"],
                )
            )
        else:
            # A file used at several click counts (carried forward) keeps its first
            # count's messages: they name the file.
            steps.append(dataclasses.replace(scored[str(path)], clicks=k))
    warnings = [*label.warnings, *found.warnings]
    if mode == "reference" and label.components.count == 0:
        warnings.append(
            f"{where}: the label is empty; the TriALS evaluator stops there (no lesion to "
            "score), so it is scored by Podium's rule (both empty: Dice 1, distances 0)"
        )
    return InteractiveCaseResult.build(
        case_id=label.case_id, mode=mode, steps=steps, warnings=warnings
    )
