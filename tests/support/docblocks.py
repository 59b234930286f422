"""The fenced code blocks of the project's Markdown pages, and which shell blocks may be run.

The rule (docs/architecture.md, "Docs that run"): every fenced block names its language;
a ``bash`` block is either marked runnable, with the info string ``bash runnable``, or
preceded by a comment saying why it is not, ``<!-- not runnable: compose on a server -->``.
``tests/e2e/test_docs.py`` runs the runnable ones against a running demo;
``tests/test_docs_blocks.py`` checks the rule without one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
NOT_RUNNABLE = re.compile(r"^\s*<!--\s*not runnable:\s*(?P<why>.+?)\s*-->\s*$")
SHELLS = frozenset({"bash", "sh", "shell", "console"})


@dataclass(frozen=True, slots=True)
class Block:
    """One fenced block: where it starts, its info string, its text (indent removed)."""

    path: Path
    line: int
    info: str
    text: str
    why_not: str | None

    @property
    def language(self) -> str:
        """The info string's first word (``""`` when there is none)."""
        return self.info.split()[0] if self.info.split() else ""

    @property
    def runnable(self) -> bool:
        """Marked ``runnable`` in its info string."""
        return "runnable" in self.info.split()[1:]

    @property
    def where(self) -> str:
        """``docs/page.md:LINE`` (relative to the checkout when inside it)."""
        try:
            shown = self.path.relative_to(REPO)
        except ValueError:
            shown = self.path
        return f"{shown}:{self.line}"


def pages() -> list[Path]:
    """README.md and every page under docs/."""
    return [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def blocks(path: Path) -> list[Block]:
    """The fenced blocks of one Markdown file, in order.

    >>> import tempfile
    >>> page = Path(tempfile.mkdtemp()) / "p.md"
    >>> _ = page.write_text("<!-- not runnable: a server -->\\n```bash\\nls\\n```\\n"
    ...                     "  ```bash runnable\\n  echo hi\\n  ```\\n")
    >>> [(b.line, b.language, b.runnable, b.why_not, b.text) for b in blocks(page)]
    [(2, 'bash', False, 'a server', 'ls\\n'), (5, 'bash', True, None, 'echo hi\\n')]
    """
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        closing = re.compile(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        body = [
            line[indent:] if not line[:indent].strip() else line.lstrip()
            for line in lines[index + 1 : end]
        ]
        found.append(
            Block(
                path=path,
                line=index + 1,
                info=opening["info"].strip(),
                text="".join(f"{line}\n" for line in body),
                why_not=_why_not(lines, index),
            )
        )
        index = end + 1
    return found


def _why_not(lines: list[str], fence_index: int) -> str | None:
    """The ``not runnable`` comment on the nearest non-blank line above the fence."""
    above = fence_index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above < 0:
        return None
    marker = NOT_RUNNABLE.match(lines[above])
    return marker["why"] if marker else None


def rule_breaches(page_blocks: list[Block]) -> list[str]:
    """Why each block breaks the rule in the module docstring (empty: none does)."""
    breaches = []
    for block in page_blocks:
        if not block.language:
            breaches.append(f"{block.where}: name the block's language (bash, text, yaml, …)")
        elif block.language in SHELLS and block.language != "bash":
            breaches.append(f"{block.where}: shell blocks are `bash` (found {block.language!r})")
        elif block.language == "bash" and block.runnable == (block.why_not is not None):
            breaches.append(
                f"{block.where}: a bash block is either `bash runnable` or preceded by "
                "`<!-- not runnable: why -->`" + (" (it is both)" if block.runnable else "")
            )
        elif block.runnable and block.language != "bash":
            breaches.append(f"{block.where}: only bash blocks are run")
    return breaches
