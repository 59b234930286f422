"""The pages in a real browser: Debian's Chromium through Playwright, a real uvicorn, PostgreSQL.

One migrated database is seeded once for the module with a live validation
board (three public teams and one organiser-affiliated team) and a hidden final
phase; one browser serves every test.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.auth.security import hash_password
from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.enums import LeaderboardVisibility, PhaseKind
from backend.jobs import RecordingJobQueue
from backend.main import create_app
from tests.backend.leaderboard_seed import Seeded, TeamSpec, seed_phase
from tests.backend.live import serve
from tests.backend.tarballs import image_tarball
from tests.fixtures.database import PostgresDatabases

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

PASSWORD = "correct horse battery"
# Names in reverse alphabetical order of quality, so sorting by name visibly reorders.
TEAMS = [
    TeamSpec(name="Zulu", qualities=[0.92], email="zulu@example.org"),
    TeamSpec(name="Mike", qualities=[0.95, 0.75], email="mike@example.org"),
    TeamSpec(name="Alpha", qualities=[0.55], email="alpha@example.org"),
    TeamSpec(name="House team", qualities=[0.99], affiliated=True, email="house@example.org"),
]


@dataclass
class Site:
    """The running app and what was seeded."""

    url: str
    live: Seeded
    hidden: Seeded


@pytest.fixture(scope="module")
def site(
    postgres_databases: PostgresDatabases, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    url = postgres_databases.new()
    engine = make_engine(url)
    factory = make_session_factory(engine)
    password_hash = hash_password(PASSWORD)
    with factory() as session:
        live = seed_phase(
            session, teams=TEAMS, centres={"A": 4, "B": 3}, password_hash=password_hash
        )
        hidden = seed_phase(
            session,
            teams=[TeamSpec(name=f"Final {t.name}", qualities=t.qualities) for t in TEAMS[:3]],
            centres={"A": 3},
            kind=PhaseKind.FINAL,
            visibility=LeaderboardVisibility.HIDDEN_UNTIL_CLOSE,
            closes_at=datetime.now(UTC) + timedelta(days=3),
        )
        session.commit()
    settings = Settings(
        environment="test",
        secret_key="browser-test-secret-key-0123456789abcdef",
        database_url=url,
        data_root=tmp_path_factory.mktemp("site-data"),
        log_json=False,
    )
    app = create_app(
        settings,
        session_factory=factory,
        job_queue=RecordingJobQueue(),
        configure_logs=False,
    )
    try:
        with serve(app) as base:
            yield Site(url=base, live=live, hidden=hidden)
    finally:
        engine.dispose()


def _teams_in_table(page: Any) -> list[str]:
    return page.locator("#board tbody tr").evaluate_all("rows => rows.map(r => r.dataset.team)")


def test_public_board_renders_seeded_order_and_sorts(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/challenge.html?challenge={site.live.challenge.slug}")
    page.wait_for_selector("#board tbody tr")
    assert _teams_in_table(page) == ["Zulu", "Mike", "Alpha"]  # no organiser-affiliated team
    positions = page.locator("#board tbody tr td:first-child").all_inner_texts()
    assert positions == ["1", "2", "3"]
    assert page.locator("#stability-plot svg g.team").count() == 3
    page.click('#board th[data-key="team"] button')
    assert _teams_in_table(page) == ["Alpha", "Mike", "Zulu"]
    assert page.get_attribute('#board th[data-key="team"]', "aria-sort") == "ascending"
    page.click('#board th[data-key="team"] button')
    assert _teams_in_table(page) == ["Zulu", "Mike", "Alpha"]
    page.click('#board th[data-key="venous:lesion_dice_per_case"] button')
    assert _teams_in_table(page)[0] == "Zulu"
    page.click('[role="tab"][data-value="B"]')
    page.wait_for_selector("#board caption:has-text('centre B')")
    assert _teams_in_table(page) == ["Zulu", "Mike", "Alpha"]


def test_hidden_phase_shows_no_scores_to_anonymous_users(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/challenge.html?challenge={site.hidden.challenge.slug}")
    notice = page.wait_for_selector("#hidden-notice")
    assert "Hidden until the phase closes" in notice.inner_text()
    assert page.locator("#board").count() == 0
    content = page.content()
    for spec in TEAMS[:3]:
        assert f"Final {spec.name}" not in content


def test_team_signs_in_and_sees_only_its_own_submissions(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/team.html?challenge={site.live.challenge.slug}")
    page.fill("#signin-email", "mike@example.org")
    page.fill("#signin-password", PASSWORD)
    page.click("#signin button[type=submit]")
    page.wait_for_selector("#submissions tbody tr")
    shown = page.locator("#submissions tbody tr").evaluate_all(
        "rows => rows.map(r => Number(r.dataset.submission))"
    )
    mine = sorted((s.id for s in site.live.submissions["Mike"]), reverse=True)
    assert shown == mine
    assert "Mike" in page.inner_text("#team-name")
    assert page.inner_text("#quota-remaining") == "8"
    assert page.locator("#upload-progress").count() == 1
    contract = page.inner_text("#run-contract")  # the phase's run contract, in words
    assert "ENTRYPOINT/CMD, with no arguments" in contract
    assert "/input/<case>.nii.gz" in contract
    assert "an image that runs as root is refused" in contract
    assert "counted in the memory limit" in contract


def test_upload_form_shows_progress_and_the_new_submission(
    page: Any, site: Site, tmp_path: Path
) -> None:
    tarball = tmp_path / "model.tar"
    tarball.write_bytes(image_tarball(layer_bytes=2 * 1024 * 1024))
    page.goto(f"{site.url}/team.html?challenge={site.live.challenge.slug}")
    page.fill("#signin-email", "alpha@example.org")
    page.fill("#signin-password", PASSWORD)
    page.click("#signin button[type=submit]")
    page.wait_for_selector("#submissions tbody tr")
    page.set_input_files("#image-file", str(tarball))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#upload-message.ok")
    assert "Accepted as submission" in page.inner_text("#upload-message")
    assert page.eval_on_selector("#upload-progress", "bar => bar.value") == 100
    assert "100%" in page.inner_text("#upload-percent")
    page.wait_for_function("document.querySelectorAll('#submissions tbody tr').length === 2")
    assert page.inner_text("#submissions tbody tr:first-child .status") == "queued"
