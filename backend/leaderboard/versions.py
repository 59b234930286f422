"""Label-set versions on a board: rank only evaluations scored against the same labels (pure).

Every evaluation records the label-set version of each paradigm it was scored
against (``Evaluation.label_sets``). A board ranks one consistent set: the
evaluations against the task's *active* versions when there are any, otherwise
the most common combination (newest first among equals, e.g. right after new
labels were activated and before the first re-score finished). The others wait
for re-scoring; while any counted evaluation is not against the active
versions, the board says it is being re-scored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: ``((paradigm, version), ...)`` sorted by paradigm.
Versions = tuple[tuple[str, int], ...]


def versions_of(label_sets: Mapping[str, Any], paradigms: Sequence[str]) -> Versions:
    """The versions an evaluation was scored against, for the board's paradigms.

    A paradigm the evaluation lacks gets version 0 (it cannot match a real one).

    Examples
    --------
    >>> versions_of({"venous": {"version": 2, "sha256": "ab"}}, ["venous"])
    (('venous', 2),)
    """
    out = []
    for p in sorted(paradigms):
        entry = label_sets.get(p)
        version = entry.get("version") if isinstance(entry, Mapping) else None
        out.append((p, int(version) if isinstance(version, int) else 0))
    return tuple(out)


def choose(candidates: Iterable[Versions], *, active: Versions | None) -> Versions | None:
    """The versions a board ranks: the active ones if any evaluation has them, else the most
    common (the newest among equally common); None when there is no candidate.

    Examples
    --------
    >>> v1, v2 = (("venous", 1),), (("venous", 2),)
    >>> choose([v1, v1, v2], active=v2), choose([v1, v1], active=v2), choose([], active=v2)
    ((('venous', 2),), (('venous', 1),), None)
    """
    counts = Counter(candidates)
    if not counts:
        return None
    if active is not None and active in counts:
        return active
    return max(counts, key=lambda v: (counts[v], [n for _, n in v]))


def describe(versions: Versions) -> str:
    """``'visible v2, combined v1'``-style words.

    Examples
    --------
    >>> describe((("combined", 1), ("visible", 2)))
    'combined v1, visible v2'
    """
    return ", ".join(f"{p} v{n}" for p, n in versions) if versions else "no labels"
