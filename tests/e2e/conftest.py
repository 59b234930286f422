"""The browser the page tests share (Debian's Chromium through Playwright, one per
session: two Playwright sync loops cannot coexist), a fresh page per test that fails
the test on any JavaScript error, and board caches cleared between modules."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_env

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium through Playwright (``PODIUM_TEST_CHROMIUM`` to use another)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = os.environ.get("PODIUM_TEST_CHROMIUM", "/usr/bin/chromium")
    if not Path(executable).exists():
        require_env("PODIUM_TEST_CHROMIUM", f"Chromium at {executable}")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture(scope="module", autouse=True)
def _fresh_board_caches() -> Iterator[None]:
    """Each module serves its own fresh database from this process, where ids restart at 1:
    the process-wide board caches must not carry one database's boards into the next."""
    from backend.leaderboard import cache  # noqa: PLC0415 - only for modules that use it

    cache.BOARDS.clear()
    cache.RESULTS.clear()
    yield
    cache.BOARDS.clear()
    cache.RESULTS.clear()
