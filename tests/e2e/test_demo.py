"""The README's run command, end to end: ``scripts/demo`` on a free port and a fresh data root.

It seeds the challenge, six teams and each validation board's reference entries (a
baseline container, a second reader's masks) through the HTTP API and evaluates them
on the real Docker engine; the test adds one more submission with
``examples/submit.py`` (pushed to the demo's registry), reads the public board in
Chromium, stops the demo with SIGINT, runs it a second time on the same data root
(nothing is duplicated) and checks that a taken port is refused with a readable
message.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.demo import READY, DemoProcess, free_port, start_demo

REPO = Path(__file__).resolve().parents[2]
#: The demo's six teams (podium/images.py), the best first; three enter Task 1 only.
TEAMS = [
    "Hepatica",
    "Cautious Lesions",
    "Soft Edges",
    "Wide Net",
    "Sharp Cut",
    "Big Lesions Only",
]
BASELINE, HUMAN = "Threshold baseline", "Second reader"
#: The teams that enter the interactive task (podium/images.py).
INTERACTIVE_TEAMS = ["Hepatica", "Cautious Lesions", "Wide Net"]


def _start(env: dict[str, str]) -> DemoProcess:
    return start_demo(REPO / "scripts" / "demo", env)


@pytest.fixture
def demo_env(tmp_path: Path, docker_client: Any) -> Iterator[dict[str, str]]:
    env = {
        **os.environ,
        "PODIUM_PORT": str(free_port()),
        "PODIUM_DATA_ROOT": str(tmp_path / "podium"),
        # Ids restart in every database: keep this run's containers apart from a
        # developer's demo on the same engine.
        "PODIUM_CONTAINER_PREFIX": f"podium-e2e-{os.getpid()}",
        # The demo's registry, on a port of its own (5000 may be anyone's).
        "PODIUM_REGISTRY_PORT": str(free_port()),
        "DOCKER_CONFIG": str(tmp_path / "docker-config"),
        "PYTHONUNBUFFERED": "1",
    }
    for name in [k for k in env if k.startswith("PODIUM_") and k not in _KEEP]:
        env.pop(name)
    yield env
    for container in docker_client.containers.list(
        all=True, filters={"name": env["PODIUM_CONTAINER_PREFIX"]}
    ):
        container.remove(force=True)
    # The names the pushed image got (the team's tag, the worker's pull by digest).
    registry = f"127.0.0.1:{env['PODIUM_REGISTRY_PORT']}/"
    for image in docker_client.images.list():
        for name in (image.attrs.get("RepoTags") or []) + (image.attrs.get("RepoDigests") or []):
            if name.startswith(registry):
                subprocess.run(
                    ["docker", "rmi", "--no-prune", name], capture_output=True, check=False
                )


# Everything else PODIUM_* (a developer's own settings) would change what the demo does.
_KEEP = {
    "PODIUM_PORT",
    "PODIUM_DATA_ROOT",
    "PODIUM_CONTAINER_PREFIX",
    "PODIUM_REGISTRY_PORT",
    "PODIUM_TEST_CHROMIUM",
}


def _board_in_browser(browser: Any, url: str, *, phase: int, screenshot: Path) -> list[str]:
    """The public board's team order, read in the session's Chromium (tests/e2e/conftest.py)."""
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.set_default_timeout(15_000)
        page.goto(f"{url}/challenge.html?challenge=trials-demo#task=task1&phase={phase}")
        page.wait_for_selector("#board tbody tr")
        teams = page.locator("#board tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.team)"
        )
        # Every feature of the board on the first screen a newcomer opens.
        assert "lower is better" in page.inner_text("#board-reading")
        assert page.locator('#board tbody tr[data-kind="baseline"]').count() == 1
        assert page.locator('#board tbody tr[data-kind="human"]').count() == 1
        assert page.locator("figure.sigmap rect.better").count() > 0
        assert page.locator("table.strata tbody tr").count() == len(teams)
        assert page.locator(".writeup-link").count() >= len(TEAMS)
        assert "venous v1" in page.inner_text("#label-versions")
        page.screenshot(path=str(screenshot), full_page=True)
    finally:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"
    return list(teams)


def _check_interactive(url: str, credentials: dict[str, Any]) -> None:
    """Both interactive phases ranked every public team; the closed loop's clicks helped."""
    phases = credentials["interactive_phases"]
    assert sorted(phases) == ["closed-loop", "static"]
    headers = {"Authorization": f"Bearer {credentials['organiser_token']}"}
    with httpx.Client(base_url=url, timeout=30) as client:
        for phase in phases.values():
            board = client.get(f"/api/v1/phases/{phase}/leaderboard").json()
            assert sorted(r["team"] for r in board["rows"]) == sorted(INTERACTIVE_TEAMS)
            assert [c["label"] for c in board["columns"]][:2] == ["DSC@AUC", "ASD@AUC"]
            assert sorted(c["team"] for c in board["curves"]) == sorted(INTERACTIVE_TEAMS)
            assert all(len(c["dice"]) == 11 for c in board["curves"])
        scores = client.get(
            f"/api/v1/phases/{phases['closed-loop']}/interactive-scores", headers=headers
        ).json()
    assert scores["interaction"]["mode"] == "closed_loop"
    assert len(scores["submissions"]) == 3
    for entry in scores["submissions"]:
        curves = [case["dice_curve"] for case in entry["cases"]]
        assert len(curves) == 6
        assert all(len(curve) == 11 for curve in curves)
        first, last = (sum(c[k] for c in curves) / len(curves) for k in (0, -1))
        assert last >= first, (entry["team"], first, last)


def _metric(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{line_start} not in /metrics")


@pytest.mark.docker
@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.timeout(280)
def test_demo_fills_the_board_and_stops_cleanly(
    demo_env: dict[str, str], tmp_path: Path, browser: Any
) -> None:
    started = time.monotonic()
    demo = _start(demo_env)
    try:
        url = demo.wait_for_line(READY, timeout=200).group(1)
    except BaseException:
        demo.process.kill()
        raise
    try:
        assert url == f"http://127.0.0.1:{demo_env['PODIUM_PORT']}"
        seeded_in = time.monotonic() - started
        credentials = json.loads(
            (Path(demo_env["PODIUM_DATA_ROOT"]) / "demo" / "credentials.json").read_text()
        )
        teams = {t["name"]: t for t in credentials["teams"]}
        assert sorted(teams) == sorted(TEAMS)
        assert not any(t["affiliated"] for t in credentials["teams"])
        phase = credentials["phases"]["task1"]

        # One more submission, as a team sends it: pushed to the demo's registry.
        assert "[demo] registry at 127.0.0.1:" in demo.output()
        demo.wait_for_line(re.compile(r"^\s+docker push 127\.0\.0\.1:\d+/trials-demo/"), timeout=30)
        sent = subprocess.run(
            [
                *(sys.executable, str(REPO / "examples" / "submit.py"), "podium-demo/cautious"),
                *("--phase", str(phase), "--url", url, "--wait", "--timeout", "120"),
            ],
            env={**demo_env, "PODIUM_TOKEN": teams["Cautious Lesions"]["token"]},
            capture_output=True,
            text=True,
            timeout=150,
            check=False,
        )
        assert sent.returncode == 0, sent.stderr
        accepted = json.loads(sent.stdout)
        assert accepted["status"] == "succeeded"
        assert accepted["image_source"] == "registry"

        with httpx.Client(base_url=url, timeout=30) as client:
            board = client.get(f"/api/v1/phases/{phase}/leaderboard").json()
            order = [r["team"] for r in board["rows"]]
            assert order[0] == "Hepatica"
            assert sorted(order) == sorted([*TEAMS, BASELINE, HUMAN])
            assert [r["position"] for r in board["rows"]] == [*range(1, 8), None]
            assert (board["rows"][-1]["team"], board["rows"][-1]["kind"]) == (HUMAN, "human")
            assert board["rules"]["ties"] == "average"
            assert client.get("/readyz").status_code == 200
            metrics = client.get("/metrics").text
        # Six teams on Task 1, three on Task 2 and on both interactive phases, a baseline and
        # a second reader on each validation board, and the one above.
        assert _metric(metrics, 'podium_submissions{state="succeeded"}') == 20
        assert _metric(metrics, "podium_queue_length") == 0
        # One observation per container attempt (an engine hiccup's retry would add one): the
        # second readers' masks are scored without a container, so 20 - 2.
        assert _metric(metrics, "podium_container_seconds_count") >= 18
        _check_interactive(url, credentials)

        screenshot = tmp_path / "leaderboard.png"
        assert _board_in_browser(browser, url, phase=phase, screenshot=screenshot) == order
        if shots := os.environ.get("PODIUM_TEST_SCREENSHOTS"):
            Path(shots).mkdir(parents=True, exist_ok=True)
            (Path(shots) / "demo-leaderboard.png").write_bytes(screenshot.read_bytes())

        # A second demo on the same port is refused before doing anything.
        clash = subprocess.run(
            [str(REPO / "scripts" / "demo")],
            cwd=REPO,
            env=demo_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert clash.returncode == 1
        assert f"port {demo_env['PODIUM_PORT']} is in use; set PODIUM_PORT" in clash.stdout
    finally:
        code = demo.stop() if demo.process.poll() is None else demo.process.returncode
    assert code == 0, demo.output()
    assert demo.lines[-1] == "[demo] stopped"
    assert seeded_in < 180, f"the demo took {seeded_in:.0f} s to fill the board"

    # Again on the same data root: everything is reused, nothing is added.
    again = _start(demo_env)
    try:
        again.wait_for_line(READY, timeout=120)
    finally:
        code = again.stop() if again.process.poll() is None else again.process.returncode
    assert code == 0, again.output()
    output = again.output()
    assert "every team has entered already" in output
    assert not re.search(r"^\[demo\] team .* created$", output, re.MULTILINE)
    assert "submitted to" not in output
    with_ids = re.findall(r"validation = phase (\d+)", output)
    assert with_ids == [str(phase), str(credentials["phases"]["task2"])]
