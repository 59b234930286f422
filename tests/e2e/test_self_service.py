"""Everything a participant and an organiser do, in the browser only (Debian's Chromium).

One real Podium: the embedded service (API + in-process worker running containers on
the Docker engine) on PostgreSQL, e-mailing a real SMTP server (aiosmtpd) whose messages
the tests read as an inbox. The tests run in order, as one story: the organiser sets the
challenge up, two people sign up and form a team, the organiser approves it, the team
submits and watches its submission succeed without reloading, and the organiser
re-scores, publishes after the phase closes, downloads the CSVs and reads the audit
trail. Each step is also tried with bad input, and the page must say what is wrong.
"""

from __future__ import annotations

import csv
import io
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from backend.auth import service as auth_service
from backend.db import make_engine, make_session_factory
from backend.enums import Role
from podium.embedded import build_service
from tests.backend.live import free_port, serve
from tests.fixtures.database import PostgresDatabases
from tests.fixtures.smtp import Inbox, body_of
from tests.support.images import save_image, shell_image
from tests.support.world import lesion_mask, write_mask
from worker.config import WorkerSettings

sync_api = pytest.importorskip("playwright.sync_api")

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.docker]

PASSWORD = "correct horse battery"
ORGANISER = "chair@example.org"
CASES = ["case_000", "case_001"]
SAMPLE = "sample_0"


def challenge_yaml(*, closes_at: datetime) -> str:
    return f"""
slug: selfserve
title: Self-service test challenge
description: Liver lesions, in the browser only.
requires_team_approval: true
centres: [{{code: a, name: Centre A}}]
tasks:
  - slug: t1
    title: "Task 1"
    input_phase: venous
    paradigms: [visible]
    phases:
      - slug: val
        title: Validation
        kind: validation
        opens_at: "2026-01-01T00:00:00Z"
        closes_at: "{closes_at.strftime("%Y-%m-%dT%H:%M:%SZ")}"
        submission_limit: 3
        time_limit_s: 60
        memory_limit_mb: 256
        gpu: false
        leaderboard_visibility: hidden_until_close
        cases:
          - {{key: case_000, centre: a, inputs: [x.nii.gz]}}
          - {{key: case_001, centre: a, inputs: [x.nii.gz]}}
        sample_cases:
          - {{key: sample_0, centre: a, inputs: [x.nii.gz]}}
"""


@dataclass
class Site:
    url: str
    inbox: Inbox
    files: Path
    settings: WorkerSettings


def _archive(folder: Path, keys: list[str], path: Path) -> Path:
    for index, key in enumerate(keys):
        write_mask(folder / f"{key}.nii.gz", lesion_mask(index))
    with tarfile.open(path, "w:gz") as tar:
        for key in keys:
            tar.add(folder / f"{key}.nii.gz", arcname=f"{key}.nii.gz")
    return path


@pytest.fixture(scope="module")
def site(
    postgres_databases: PostgresDatabases,
    smtp_server: Inbox,
    docker_client: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Site]:
    files = tmp_path_factory.mktemp("selfserve-files")
    url = postgres_databases.new()
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        user = auth_service.register(
            session, email=ORGANISER, password=PASSWORD, display_name="Chair"
        )
        user.role = Role.ORGANISER  # the first organiser is made on the server's shell
        session.commit()
    engine.dispose()
    port = free_port()
    settings = WorkerSettings(
        environment="test",
        secret_key="selfserve-secret-key-0123456789abcdef-xyz",
        database_url=url,
        data_root=tmp_path_factory.mktemp("selfserve-data"),
        public_url=f"http://127.0.0.1:{port}",
        smtp_host=smtp_server.host,
        smtp_port=smtp_server.port,
        log_json=False,
        gpus="",
        retry_backoff_s=0,
        run_cpus=1.0,
        run_pids=64,
        output_bytes=16 * 1024 * 1024,
        tmp_bytes=4 * 1024 * 1024,
        container_prefix="podium-acc-e2e",
    )
    _archive(files / "in", [*CASES, SAMPLE], files / "inputs.tar.gz")
    _archive(files / "lab", [*CASES, SAMPLE], files / "visible.tar.gz")
    (files / "bad.yaml").write_text(
        challenge_yaml(closes_at=datetime(2030, 1, 1, tzinfo=UTC)).replace(
            'closes_at: "2030', 'closes_at: "2025'
        )
    )
    (files / "challenge.yaml").write_text(
        challenge_yaml(closes_at=datetime(2030, 1, 1, tzinfo=UTC))
    )
    (files / "closed.yaml").write_text(
        challenge_yaml(closes_at=datetime.now(UTC) - timedelta(minutes=1))
    )
    (files / "not-an-image.tar").write_bytes(b"this is a Dockerfile, not docker save output\n")
    image = shell_image(docker_client, "cp /input/*.nii.gz /output/ && echo copied")
    save_image(docker_client, image, files / "model.tar")
    service = build_service(settings, configure_logs=False)
    try:
        with serve(service.app, port=port) as base:
            yield Site(url=base, inbox=smtp_server, files=files, settings=settings)
    finally:
        service.queue.shutdown(cancel_pending=True)


def _page(browser: Any, site: Site) -> Any:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors
    return page


@pytest.fixture(scope="module")
def chair(browser: Any, site: Site) -> Iterator[Any]:
    page = _page(browser, site)
    page.goto(f"{site.url}/account.html")
    page.fill("#signin-email", ORGANISER)
    page.fill("#signin-password", PASSWORD)
    page.click("#signin button[type=submit]")
    page.wait_for_selector("#signed-in")
    yield page
    assert not page.errors, page.errors
    page.context.close()


@pytest.fixture(scope="module")
def people(browser: Any, site: Site) -> Iterator[dict[str, Any]]:
    pages = {name: _page(browser, site) for name in ("ada", "bob")}
    yield pages
    for page in pages.values():
        assert not page.errors, page.errors
        page.context.close()


def _console(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/organiser.html?challenge=selfserve")
    page.wait_for_selector("#phase-console")


def test_organiser_applies_the_file_and_uploads_inputs_and_labels(chair: Any, site: Site) -> None:
    page = chair
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert cookies["podium_session"]["httpOnly"]
    assert cookies["podium_session"]["sameSite"] == "Lax"
    assert not cookies["podium_csrf"]["httpOnly"]  # the page echoes it in X-CSRF-Token
    page.goto(f"{site.url}/organiser.html")
    page.set_input_files("#challenge-file", str(site.files / "bad.yaml"))
    page.click("#apply button[type=submit]")
    page.wait_for_selector("#apply-message.error")
    assert "closes_at" in page.inner_text("#apply-errors")  # the key at fault, in words
    page.set_input_files("#challenge-file", str(site.files / "challenge.yaml"))
    page.click("#apply button[type=submit]")
    page.wait_for_selector("#phase-console")
    page.set_input_files("#inputs", str(site.files / "not-an-image.tar"))
    page.click("#inputs-form button[type=submit]")
    page.wait_for_selector("#inputs-message.error")
    page.set_input_files("#inputs", str(site.files / "inputs.tar.gz"))
    page.click("#inputs-form button[type=submit]")
    page.wait_for_selector("#inputs-message.ok")
    assert "3 of 3 case input(s) updated" in page.inner_text("#inputs-message")
    page.wait_for_selector("#inputs-state:has-text('3 of 3')")
    page.set_input_files("#labels-visible", str(site.files / "visible.tar.gz"))
    page.click("#labels-visible-form button[type=submit]")
    page.wait_for_selector("#labels-visible-message.ok")
    page.wait_for_selector("#label-versions li[data-version='1']:has-text('active')")
    # Publishing waits for the phase to close, and the button says so.
    assert page.is_disabled("#publish")
    assert "still open" in page.inner_text("#publish-reason")


def _sign_up(page: Any, site: Site, email: str, name: str) -> None:
    page.goto(f"{site.url}/account.html#signup")
    page.fill("#signup-name", name)
    page.fill("#signup-email", email)
    page.fill("#signup-password", PASSWORD)
    page.click("#signup button[type=submit]")
    page.wait_for_selector("#signup-message.ok")
    link = next(
        line.strip()
        for line in body_of(site.inbox.wait_for(email)).splitlines()
        if "#verify=" in line
    )
    page.goto(link)
    page.wait_for_selector("#verified")


def test_two_people_sign_up_form_a_team_and_wait_for_approval(
    people: dict[str, Any], chair: Any, site: Site
) -> None:
    ada, bob = people["ada"], people["bob"]
    _sign_up(ada, site, "ada@example.org", "Ada")
    ada.goto(f"{site.url}/team.html?challenge=selfserve")
    ada.fill("#team-name", "Liver Lab")
    ada.click("#create-team button[type=submit]")
    waiting = ada.wait_for_selector("#team-waiting")
    assert "approves each team" in waiting.inner_text()
    code = ada.inner_text("#invite-code-value")
    # The organisers are e-mailed that a team waits.
    assert "Liver Lab" in site.inbox.wait_for(ORGANISER)["Subject"]

    _sign_up(bob, site, "bob@example.org", "Bob")
    bob.goto(f"{site.url}/team.html?challenge=selfserve")
    bob.fill("#invite-code", "not-the-code")
    bob.click("#join-team button[type=submit]")
    assert "not valid" in bob.wait_for_selector("#join-message.error").inner_text()
    bob.fill("#invite-code", code)
    bob.click("#join-team button[type=submit]")
    bob.wait_for_selector("#team-waiting")
    assert "Ada (captain), Bob" in bob.inner_text("#members")
    assert bob.locator("#upload").count() == 0  # no uploads before approval

    _console(chair, site)
    row = chair.wait_for_selector("#teams tr[data-team='Liver Lab']")
    assert "waiting for approval" in row.inner_text()
    chair.click("#teams tr[data-team='Liver Lab'] button:has-text('Approve')")
    chair.wait_for_selector("#teams-message.ok")


def test_the_team_uploads_and_sees_it_succeed_without_a_reload(
    people: dict[str, Any], site: Site
) -> None:
    ada = people["ada"]
    ada.goto(f"{site.url}/team.html?challenge=selfserve")
    ada.wait_for_selector("#team-approved")
    ada.set_input_files("#image-file", str(site.files / "not-an-image.tar"))
    ada.click("#upload button[type=submit]")
    refused = ada.wait_for_selector("#upload-message.error").inner_text()
    assert "not an acceptable image" in refused
    ada.evaluate("window.__sameDocument = true")
    ada.set_input_files("#image-file", str(site.files / "model.tar"))
    ada.click("#upload button[type=submit]")
    ada.wait_for_selector("#upload-message.ok")
    ada.wait_for_selector("#submissions tr[data-status='succeeded']", timeout=120_000)
    assert ada.evaluate("window.__sameDocument") is True  # no reload happened
    scores = ada.wait_for_selector("#own-scores")
    assert scores.query_selector("tr[data-case='case_000'][data-paradigm='visible']")
    assert ada.inner_text("#own-scores tr[data-case='case_000'] td:nth-child(4)") == "1"
    assert "hidden" in ada.inner_text("#position").lower()  # hidden until close
    mail = site.inbox.wait_for("bob@example.org", count=2)  # the second after the link
    assert "succeeded" in mail["Subject"]
    assert "mean Dice per case 1.000" in body_of(mail)


def test_organiser_rescores_publishes_after_close_and_downloads_csvs(
    chair: Any, site: Site
) -> None:
    page = chair
    _console(page, site)
    page.click("#rescore-phase")
    assert (
        "queued for re-scoring" in page.wait_for_selector("#phase-action-message.ok").inner_text()
    )
    # Close the phase by updating the challenge file, as an organiser would.
    page.set_input_files("#challenge-file", str(site.files / "closed.yaml"))
    page.click("#apply button[type=submit]")
    page.wait_for_selector("#phase-console")
    page.wait_for_selector("#publish:not([disabled])")
    page.click("#publish")
    assert "now public" in page.wait_for_selector("#phase-action-message.ok").inner_text()
    page.wait_for_selector("#publish-reason:has-text('Published')")
    for link, first_column in (("#export-board", "position"), ("#export-cases", "submission_id")):
        with page.expect_download() as download:
            page.click(link)
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        assert rows, link
        assert first_column in rows[0]
        assert any("Liver Lab" in row.values() for row in rows)
    page.fill("#audit-action", "")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_selector("#audit tr[data-action='leaderboard.publish']")
    actions = page.locator("#audit tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.action)"
    )
    for expected in (
        "challenge.apply",
        "case.inputs",
        "label_set.activate",
        "team.update",
        "phase.rescore",
        "leaderboard.publish",
    ):
        assert expected in actions, (expected, actions)
    page.select_option("#audit-target", "team")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_function(
        "[...document.querySelectorAll('#audit tbody tr')]"
        ".every(r => r.dataset.action.startsWith('team.'))"
    )


def test_an_expired_reset_link_is_refused_in_words(people: dict[str, Any], site: Site) -> None:
    page = people["bob"]
    page.goto(f"{site.url}/account.html")
    page.click("#signout")  # the header's button: the session ends, the forms come back
    page.wait_for_selector("#forgot")
    assert page.context.cookies() == []  # both cookies cleared
    page.fill("#forgot-email", "bob@example.org")
    page.click("#forgot button[type=submit]")
    page.wait_for_selector("#forgot-message.ok")
    mail = site.inbox.wait_for("bob@example.org", count=3)
    link = next(line.strip() for line in body_of(mail).splitlines() if "#reset=" in line)
    engine = make_engine(site.settings.database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE account_tokens SET expires_at = now() - interval '1 minute' "
            "WHERE purpose = 'reset'"
        )
    engine.dispose()
    page.goto(link)
    page.fill("#reset-password", "a brand new password")
    page.click("#reset button[type=submit]")
    assert "expired" in page.wait_for_selector("#reset-message.error").inner_text()


def test_docs_render_their_operations_with_the_network_blocked(browser: Any, site: Site) -> None:
    context = browser.new_context()
    page = context.new_page()
    origin = site.url
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(origin) else route.abort(),
    )
    page.goto(f"{site.url}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/auth/session" in paths
    page.goto(f"{site.url}/redoc")
    page.get_by_text("/api/v1/auth/session").first.wait_for(timeout=20_000)
    context.close()
