"""Every code block of README.md and docs/*.md names its language, and every shell block says
whether tests/e2e/test_docs.py runs it (``bash runnable``) or why not."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.docblocks import blocks, pages, rule_breaches


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.name)
def test_each_block_is_classified(page: Path) -> None:
    breaches = rule_breaches(blocks(page))
    assert not breaches, "\n".join(breaches)


def test_the_pages_have_runnable_blocks() -> None:
    # The e2e test would pass vacuously if a marker were misspelt everywhere.
    runnable = {b.path.name for page in pages() for b in blocks(page) if b.runnable}
    assert {"README.md", "participants.md", "organisers.md", "operations.md"} <= runnable
