"""Write the challenge document as YAML without a YAML library.

``python -m demo.data`` is for participants too, whose install is the scorer
alone (``pip install ".[scoring]"``, no PyYAML). The document is plain data —
mappings with string keys, lists, strings, numbers, booleans — so block-style
YAML is a few lines; strings that could read as anything else are written as
JSON strings, which YAML reads as double-quoted scalars.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_RESERVED = frozenset({"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"})


def _scalar(value: object) -> str:
    """One scalar.

    Examples
    --------
    >>> [_scalar(v) for v in ("venous", "2024-01-01T00:00:00Z", "no", 3, False, None)]
    ['venous', '"2024-01-01T00:00:00Z"', '"no"', '3', 'false', 'null']
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        plain = _PLAIN.match(value) and value.lower() not in _RESERVED
        return value if plain else json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _lines(value: object, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, Mapping):
        if not value:
            return [pad + "{}"]
        out = []
        for key, item in value.items():
            head = f"{pad}{_scalar(str(key))}:"
            if isinstance(item, Mapping | list) and item:
                out += [head, *_lines(item, indent + 2)]
            else:
                out.append(f"{head} {_inline(item)}")
        return out
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            return [pad + "[]"]
        out = []
        for item in value:
            if isinstance(item, Mapping | list) and item:
                first, *rest = _lines(item, indent + 2)
                out += [f"{pad}- {first.lstrip()}", *rest]
            else:
                out.append(f"{pad}- {_inline(item)}")
        return out
    return [pad + _scalar(value)]


def _inline(value: object) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _scalar(value)


def dump(document: Mapping[str, object]) -> str:
    """``document`` as block-style YAML.

    Examples
    --------
    >>> print(dump({"slug": "x", "tasks": [{"slug": "t", "paradigms": ["a"], "gpu": False}]}))
    slug: x
    tasks:
      - slug: t
        paradigms:
          - a
        gpu: false
    <BLANKLINE>
    """
    return "\n".join(_lines(document, 0)) + "\n"
