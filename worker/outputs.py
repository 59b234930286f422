"""Which files a container wrote count as predictions, and what is wrong with the rest.

Only regular files directly in the output folder named ``<case_id>.nii.gz``
(or ``.nii``/``.mha``) for an expected case are predictions. Symbolic links,
devices, directories and unexpected names are ignored and reported; sizes are
checked before anything is read, and each file's first bytes must look like
its format, so a team learns about a truncated or mislabelled file by name.
Geometry and values are checked by :func:`scoring.metrics.score_case` against
the case's label when it is scored.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from scoring.formats import EXTENSIONS, signature_problem, split_case_name

#: A prediction larger than this is refused unread (a 637×512×512 uint8 NIfTI is 167 MB).
DEFAULT_MAX_FILE_BYTES = 1024**3


@dataclass(slots=True)
class CollectedOutputs:
    """The usable prediction files and the problems found.

    Attributes
    ----------
    files
        Case id -> prediction file, for the cases that have a usable file.
    rejected
        Case id -> why its file was not used (the case is scored as invalid).
    problems
        Every finding, one sentence each, for the team.
    """

    files: dict[str, Path] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def missing(self, case_ids: Iterable[str]) -> list[str]:
        """Expected cases with neither a usable nor a rejected file."""
        return [c for c in case_ids if c not in self.files and c not in self.rejected]


def collect_outputs(
    directory: Path,
    *,
    case_ids: Iterable[str],
    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
    notes: Iterable[str] = (),
) -> CollectedOutputs:
    """Pick the prediction files out of a finished run's output folder.

    Parameters
    ----------
    directory
        The host folder holding the container's ``/output`` files.
    case_ids
        The cases the container was given.
    max_file_bytes
        Files larger than this are rejected without being read.
    notes
        Findings of the copy out of the container, carried into ``problems``.

    Returns
    -------
    CollectedOutputs
        One usable file per case at most (the first extension of
        :data:`scoring.formats.EXTENSIONS` wins), the rejected ones and why.
    """
    expected = set(case_ids)
    collected = CollectedOutputs(problems=list(notes))
    found: dict[str, list[tuple[int, Path]]] = {}
    with os.scandir(directory) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file"
                collected.problems.append(f"{entry.name} was ignored: it is {kind}.")
                continue
            parts = split_case_name(entry.name)
            if parts is None or parts[0] not in expected:
                collected.problems.append(
                    f"{entry.name} was ignored: expected <case id>.nii.gz (or .nii, .mha) "
                    "for one of the input cases."
                )
                continue
            case_id, extension = parts
            if info.st_size > max_file_bytes:
                reason = (
                    f"{entry.name} is {info.st_size} bytes, more than the {max_file_bytes} "
                    "allowed per prediction"
                )
                collected.rejected.setdefault(case_id, reason)
                collected.problems.append(reason + ".")
                continue
            found.setdefault(case_id, []).append((EXTENSIONS.index(extension), Path(entry.path)))
    for case_id, candidates in sorted(found.items()):
        candidates.sort()
        (_, chosen), *others = candidates
        for _, other in others:
            collected.problems.append(f"{other.name} was ignored: {chosen.name} is used instead.")
        problem = signature_problem(chosen, EXTENSIONS[candidates[0][0]])
        if problem is not None:
            reason = f"{chosen.name} cannot be read: {problem}"
            collected.rejected[case_id] = reason
            collected.problems.append(reason + ".")
            continue
        collected.rejected.pop(case_id, None)
        collected.files[case_id] = chosen
    for case_id in sorted(collected.missing(expected)):
        collected.problems.append(f"No prediction for case {case_id}.")
    return collected
