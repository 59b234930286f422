"""Which files of a static run count as predictions: ``/output/<case>/<case>_<k>.nii.gz``.

The folder rules are the scorer's (:func:`scoring.interactive.score.find_click_predictions`:
missing click counts named and scored as empty, unknown counts, misnamed and
duplicate files ignored and named); on top, as for every phase
(:mod:`worker.outputs`), a file is refused unread when it is larger than the
cap or does not start like its format, and entries of ``/output`` that are not
a case's folder are named.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from scoring.formats import EXTENSIONS, signature_problem
from scoring.interactive.score import ClickPredictions, find_click_predictions
from worker.outputs import DEFAULT_MAX_FILE_BYTES

#: Stray entries of /output named in one message; the rest are counted.
_SHOWN = 20


def _check_file(path: Path, *, max_file_bytes: int) -> str | None:
    size = path.lstat().st_size
    if size > max_file_bytes:
        return f"{path.name} is {size} bytes, more than the {max_file_bytes} allowed per prediction"
    ext = next(e for e in EXTENSIONS if path.name.endswith(e))
    problem = signature_problem(path, ext)
    return None if problem is None else f"{path.name} cannot be read: {problem}"


def collect_static(
    output_dir: Path,
    *,
    case_ids: Sequence[str],
    clicks: int,
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    notes: Iterable[str] = (),
) -> tuple[dict[str, ClickPredictions], list[str]]:
    """The per-click files of every case, and what was wrong with ``/output``.

    Returns
    -------
    tuple
        Case id -> :class:`~scoring.interactive.score.ClickPredictions` (every
        case, found or not), and the problems, one sentence each, for the team.
    """
    problems = list(notes)
    expected = set(case_ids)
    stray = []
    with os.scandir(output_dir) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name not in expected or not entry.is_dir(follow_symlinks=False):
                stray.append(entry.name)
    if stray:
        shown = ", ".join(stray[:_SHOWN]) + (
            f" and {len(stray) - _SHOWN} more" if len(stray) > _SHOWN else ""
        )
        problems.append(
            f"ignored in /output: {shown} (expected a folder <case>/ per input case, holding "
            "<case>_<k>.nii.gz for k = 0, 1, ...)"
        )
    found: dict[str, ClickPredictions] = {}
    for case in case_ids:
        predictions = find_click_predictions(output_dir / case, case, clicks=clicks)
        for k, path in enumerate(predictions.paths):
            if path is not None and k not in predictions.invalid:
                reason = _check_file(path, max_file_bytes=max_file_bytes)
                if reason is not None:
                    predictions.invalid[k] = reason
        problems.extend(predictions.warnings)
        found[case] = predictions
    return found, problems
