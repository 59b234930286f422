"""An interactive phase's board in Chromium: the six curve metrics with their meaning in words,
and the mean Dice-vs-clicks plot (inline SVG) with the same numbers in sentences and a table.

One migrated PostgreSQL database with the teams of ``tests/backend/test_interactive_board.py``
(:mod:`tests.backend.interactive_seed`), served by the real app.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.jobs import RecordingJobQueue
from backend.main import create_app
from tests.backend.interactive_seed import Learner, seed_interactive_phase
from tests.backend.live import serve
from tests.fixtures.database import PostgresDatabases

pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

TEAMS = [
    Learner("Steady", start=0.80, gain=0.02),
    Learner("Learner", start=0.40, gain=0.15),
    Learner("Flat", start=0.60, gain=0.0),
]


@pytest.fixture(scope="module")
def site(
    postgres_databases: PostgresDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    url = postgres_databases.new()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        seeded = seed_interactive_phase(session, teams=TEAMS, centres={"A": 3, "B": 4}, clicks=4)
        slug = seeded.challenge.slug
        session.commit()
    settings = Settings(
        environment="test",
        secret_key="browser-test-secret-key-0123456789abcdef",
        database_url=url,
        data_root=tmp_path_factory.mktemp("interactive-board"),
        log_json=False,
    )
    app = create_app(
        settings, session_factory=factory, job_queue=RecordingJobQueue(), configure_logs=False
    )
    try:
        with serve(app) as base:
            yield f"{base}/challenge.html?challenge={slug}"
    finally:
        engine.dispose()


def test_the_curve_metrics_and_the_dice_curves_read_in_words(page: Any, site: str) -> None:
    page.goto(site, wait_until="domcontentloaded")
    page.wait_for_selector("#board tbody tr")
    heads = page.locator("#board thead .head-name").all_inner_texts()
    hints = page.locator("#board thead .head-hint").all_inner_texts()
    by_name = dict(zip(heads, hints, strict=True))
    assert by_name["DSC@AUC"] == "↑ higher is better"
    assert by_name["MSD@Final"] == "↓ lower is better · mm"
    assert "@AUC is the area under the case's curve" in page.inner_text("#interactive-note")
    glossary = page.locator("details.glossary")
    glossary.locator("summary").click()
    assert "Dice-vs-clicks curve" in glossary.inner_text()

    figure = page.locator("figure.curves")
    assert "after 0, 1, …, 4 clicks" in figure.locator("figcaption").inner_text()
    lines = figure.locator("svg.curves g.curve")
    # In board order: Learner and Steady share first place (by name), Flat third.
    assert lines.evaluate_all("gs => gs.map(g => g.dataset.team)") == ["Learner", "Steady", "Flat"]
    # Every line has its five points, and the SVG names itself for assistive technology.
    assert (
        figure.locator('g.curve[data-team="Learner"] polyline').get_attribute("points").count(",")
        == 5
    )
    label = figure.locator("svg.curves").get_attribute("aria-labelledby").split()
    assert page.locator(f"#{label[0]}").text_content() == "Mean Dice by number of clicks"
    words = figure.locator("ul.curve-words li").all_inner_texts()
    assert words[0].startswith("Learner: 0.4")
    assert "1.000 after 4 clicks (+0.5" in words[0]
    assert "(unchanged)" in words[2]
    # The table of every value opens from the keyboard.
    summary = figure.locator("details summary")
    summary.focus()
    page.keyboard.press("Enter")
    row = figure.locator('table.curves tr[data-team="Flat"] td').all_inner_texts()
    assert len(row) == 5
    assert all(v.startswith("0.6") for v in row)
    text = page.inner_text("body")
    for bad in ("undefined", "NaN", "null"):
        assert bad not in text
    if shots := os.environ.get("PODIUM_TEST_SCREENSHOTS"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / "interactive-board.png"), full_page=True)

    # A centre's tab draws the curves over that centre's cases.
    page.get_by_role("tab", name="Centre A").click()
    page.wait_for_function(
        "() => document.querySelector('figure.curves figcaption')?.textContent"
        ".includes('cases of centre A')"
    )
    assert page.locator("figure.curves svg.curves g.curve").count() == 3
