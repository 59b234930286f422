"""The board in Chromium: readable without hovering, team column in view when scrolled right,
reference rows, intervals, significance map, strata, label versions, and mountBoard in any page.

One migrated PostgreSQL database seeded for the module: a Task 1 validation phase with six
teams of clearly different quality, a ranked baseline and an unranked human reader, every
evaluation against venous v1 while v2 is active (so the board says it is re-scoring).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from backend.challenges.models import LabelSet
from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.jobs import RecordingJobQueue
from backend.main import create_app
from tests.backend.leaderboard_seed import ReferenceSpec, Seeded, TeamSpec, seed_phase
from tests.backend.live import serve
from tests.fixtures.database import PostgresDatabases

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

TEAMS = [
    TeamSpec(name=name, qualities=[q])
    for name, q in (
        ("Hepatica", 0.93),
        ("LiverLab", 0.85),
        ("Contrast Free", 0.74),
        ("Slice and Dice", 0.63),
        ("Quiet Voxels", 0.52),
        ("First Try", 0.38),
    )
]
REFERENCES = [
    ReferenceSpec(name="Threshold baseline", kind="baseline", quality=0.6),
    ReferenceSpec(name="Second reader", kind="human", quality=0.96, link="https://example.org/ir"),
]


@dataclass
class Site:
    url: str
    seeded: Seeded


@pytest.fixture(scope="module")
def site(
    postgres_databases: PostgresDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    url = postgres_databases.new()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    with factory() as session:
        seeded = seed_phase(
            session,
            teams=TEAMS,
            centres={"china": 4, "egypt": 5, "external": 4},
            references=REFERENCES,
            ranking={"ties": "average", "references": {"baseline": "ranked", "human": "unranked"}},
            label_versions={"venous": 1},
            noise=0.04,
        )
        session.add(
            LabelSet(
                task_id=seeded.task.id,
                paradigm="venous",
                version=2,
                sha256="v2",
                active=True,
                storage_path="labels/venous/v2",
            )
        )
        session.commit()
    settings = Settings(
        environment="test",
        secret_key="browser-test-secret-key-0123456789abcdef",
        database_url=url,
        data_root=tmp_path_factory.mktemp("board-data"),
        log_json=False,
    )
    app = create_app(
        settings, session_factory=factory, job_queue=RecordingJobQueue(), configure_logs=False
    )
    try:
        with serve(app) as base:
            yield Site(url=base, seeded=seeded)
    finally:
        engine.dispose()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


def _open(page: Any, site: Site) -> None:
    page.goto(
        f"{site.url}/challenge.html?challenge={site.seeded.challenge.slug}",
        wait_until="domcontentloaded",
    )
    page.wait_for_selector("#board tbody tr")


def test_the_board_reads_without_hovering(page: Any, site: Site) -> None:
    _open(page, site)
    guide = page.inner_text("#board-reading")
    assert "lower is better" in guide
    assert "9001" in guide
    assert "millimetres" in guide
    hints = page.locator("#board thead .head-hint").all_inner_texts()
    heads = page.locator("#board thead .head-name").all_inner_texts()
    by_name = dict(zip(heads, hints, strict=True))
    assert by_name["Score"].endswith("lower is better")
    assert by_name["Dice per case"] == "↑ higher is better"
    assert by_name["ASSD"] == "↓ lower is better · mm"
    assert by_name["RVD"] == "↓ closer to 0 is better · ratio"
    assert "average of their ranks" in page.inner_text("#board-rules")
    text = page.inner_text("body")
    for bad in ("undefined", "NaN", "null"):
        assert bad not in text
    assert "τ-b" in page.inner_text("#stability-words")
    if shots := os.environ.get("PODIUM_TEST_SCREENSHOTS"):
        Path(shots).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(shots) / "board.png"), full_page=True)
    # The paper's log display of distances.
    first_assd = page.locator('#board tbody tr:first-child td[title^="95%"]').nth(8).inner_text()
    page.click("text=Distances as natural logs")
    hint = page.locator('#board thead th[data-key="venous:lesion_assd"] .head-hint').inner_text()
    assert hint == "↓ lower is better · ln mm"
    assert (
        page.locator('#board tbody tr:first-child td[title^="95%"]').nth(8).inner_text()
        != first_assd
    )


def test_team_column_and_header_stay_in_view_when_scrolled(page: Any, site: Site) -> None:
    _open(page, site)
    frame = page.locator(".board-scroll")
    # The board sits below the challenge's description and phases: bring it into the viewport.
    frame.scroll_into_view_if_needed()
    frame.evaluate("f => { f.scrollLeft = f.scrollWidth; f.scrollTop = 60; }")
    assert frame.evaluate("f => f.scrollLeft") > 300  # the table is wider than the frame
    box = frame.bounding_box()
    team = page.locator("#board tbody tr:first-child th.sticky-team").bounding_box()
    assert box["x"] <= team["x"]
    assert team["x"] + team["width"] <= box["x"] + box["width"]
    # Nothing covers it: the browser finds the team cell at its own centre.
    hit = page.evaluate(
        """() => { const c = document.querySelector('#board tbody tr:first-child th.sticky-team');
                  const r = c.getBoundingClientRect();
                  const at = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
                  return c.contains(at); }"""
    )
    assert hit is True
    header = page.locator('#board thead th[data-key="score"]').bounding_box()
    assert box["y"] - 1 <= header["y"] < box["y"] + 40


def test_reference_rows_intervals_and_label_versions(page: Any, site: Site) -> None:
    _open(page, site)
    teams = page.locator("#board tbody tr").evaluate_all("rs => rs.map(r => r.dataset.team)")
    assert teams[:2] == ["Hepatica", "LiverLab"]
    assert teams[-1] == "Second reader"  # unranked, beside the ranking
    assert "Threshold baseline" in teams[:-1]
    human = page.locator('#board tbody tr[data-kind="human"]')
    assert "human reader" in human.inner_text()
    assert "not ranked" in human.inner_text()
    assert human.locator("td.sticky-pos").inner_text() == "–"
    baseline = page.locator('#board tbody tr[data-kind="baseline"]')
    assert baseline.locator("td.sticky-pos").inner_text() != "–"
    cell = page.locator('#board tbody tr:first-child td[title^="95%"]').first
    ci = cell.locator(".ci")
    assert ci.evaluate("n => getComputedStyle(n).visibility") == "hidden"
    cell.hover()
    assert ci.evaluate("n => getComputedStyle(n).visibility") == "visible"
    assert ci.inner_text().startswith("95% CI ")
    assert "95% bootstrap interval" in cell.get_attribute("title")
    assert "Scored against labels: venous v1" in page.inner_text("#label-versions")
    assert "Re-scoring" in page.inner_text("#rescoring")
    assert "venous v2" in page.inner_text("#rescoring")
    csv_href = page.get_attribute("#csv-link", "href")
    assert csv_href.endswith("/leaderboard.csv")


def test_significance_map_and_strata(page: Any, site: Site) -> None:
    _open(page, site)
    figure = page.locator("figure.sigmap").first
    assert "Wilcoxon" in figure.locator("figcaption").inner_text()
    assert figure.locator("rect.better").count() > 0
    best = figure.locator('rect[data-row="Hepatica"][data-col="First Try"]')
    assert best.get_attribute("class") == "better"
    assert (
        figure.locator('rect[data-row="First Try"][data-col="Hepatica"]').get_attribute("class")
        == "not"
    )
    assert "Hepatica: better than" in figure.locator("svg desc").text_content()
    strata = page.locator("table.strata")
    assert strata.count() == 1
    heads = strata.locator("thead th").all_inner_texts()
    assert heads == ["Entry", "< 100 mm³", "100–1,000 mm³", "≥ 1,000 mm³"]
    assert strata.locator("tbody tr").count() == 8
    first_try = strata.locator('tbody tr[data-team="First Try"] td').first.inner_text()
    assert first_try.startswith("0.00")


def test_mount_board_into_any_element(page: Any, site: Site) -> None:
    # Any page of the site, one that does not link the board's CSS.
    page.goto(f"{site.url}/team.html", wait_until="domcontentloaded")
    page.evaluate(
        """async ([slug]) => {
            const host = document.createElement('div');
            host.id = 'host';
            document.body.append(host);
            const { mountBoard } = await import('/js/board.js');
            await mountBoard(host, { challenge: slug, task: 'task1' });
        }""",
        [site.seeded.challenge.slug],
    )
    page.wait_for_selector("#host #board tbody tr")
    assert page.locator('link[href="/css/board.css"]').count() == 1
    assert page.locator("#host .podium-board .board-read").count() == 1
    page.click('#host [role="tab"][data-value="egypt"]')
    page.wait_for_selector("#host #board caption:has-text('centre egypt')")
