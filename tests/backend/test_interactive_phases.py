"""Interactive phases in the API: the ``interaction:`` block, click-file uploads, the results.

The worker's side (runs, scores) is in ``tests/worker/test_interactive_*.py``.
"""

from __future__ import annotations

import doctest
import io
import json
import tarfile
import textwrap

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.challenges.spec import parse_challenge_yaml
from backend.enums import PhaseKind, SubmissionStatus
from backend.errors import DomainError
from backend.interactive import repository as interactive_repo
from backend.interactive import spec as interactive_spec
from backend.interactive.models import ClickSet
from backend.interactive.results import counted_case_results
from backend.interactive.spec import interaction_of
from backend.submissions import repository as subs
from scoring.interactive.results import InteractiveCaseResult, StepResult
from tests.backend.conftest import World, files_under
from tests.backend.factories import make_case, make_submission

YAML = """
slug: trials-interactive
title: TriALS interactive
tasks:
  - slug: task2
    title: Task 2
    input_phase: venous
    paradigms: [venous, combined]
    phases:
      - slug: validation
        title: Validation
        kind: validation
        submission_limit: 3
        time_limit_s: 600
        opens_at: "2026-01-01T00:00:00Z"
        closes_at: "2027-01-01T00:00:00Z"
"""

STATIC = """
interaction:
  mode: static
"""


def _yaml(block: str = "") -> str:
    return YAML + textwrap.indent(textwrap.dedent(block).strip("\n"), " " * 8) + "\n"


def test_the_docstring_examples_hold():
    failures, tried = doctest.testmod(interactive_spec)
    assert tried > 0
    assert failures == 0


def test_a_block_parses_with_every_default_and_the_first_paradigm():
    spec = parse_challenge_yaml(_yaml(STATIC)).tasks[0].phases[0]
    stored = interactive_spec.stored_interaction(spec.interaction, paradigms=["venous", "x"])
    interaction = interaction_of(stored)
    assert interaction is not None
    assert interaction.describe() == {
        "mode": "static",
        "clicks": 10,
        "paradigm": "venous",
        "simulator": {"seed": 0, "background_min_mm": 5.0, "background_max_mm": 25.0},
        "click_source": "simulated",
        "step_time_limit_s": 60,
        "startup_time_limit_s": 300,
    }
    assert interaction.settings.count == 10
    assert parse_challenge_yaml(_yaml()).tasks[0].phases[0].interaction is None


def test_a_closed_loop_block_carries_its_simulator_and_limits():
    block = """
    interaction:
      mode: closed_loop
      clicks: 5
      paradigm: combined
      simulator: {seed: 7, background_min_mm: 2, background_max_mm: 9.5}
      step_time_limit_s: 30
      startup_time_limit_s: 0
    """
    phase = parse_challenge_yaml(_yaml(block)).tasks[0].phases[0]
    interaction = interaction_of(
        interactive_spec.stored_interaction(phase.interaction, paradigms=["venous", "combined"])
    )
    assert interaction is not None
    assert interaction.closed_loop
    assert (interaction.paradigm, interaction.clicks, interaction.settings.seed) == (
        "combined",
        5,
        7,
    )
    assert interaction.settings.background_max_mm == 9.5
    assert (interaction.step_time_limit_s, interaction.startup_time_limit_s) == (30, 0)


@pytest.mark.parametrize(
    ("block", "key", "words"),
    [
        ("mode: live", "interaction.mode", "'static' or 'closed_loop'"),
        ("mode: static\n  clicks: 0", "interaction.clicks", "greater than or equal to 1"),
        ("mode: static\n  clicks: 101", "interaction.clicks", "less than or equal to 100"),
        ("mode: static\n  simulator: {sed: 1}", "interaction", "unknown click setting(s) sed"),
        ("mode: static\n  simulator: {count: 3}", "interaction", "interaction.clicks"),
        (
            "mode: static\n  simulator: {background_min_mm: 30}",
            "interaction",
            "0 < min < max",
        ),
        (
            "mode: closed_loop\n  click_source: uploaded",
            "interaction",
            "needs mode: static",
        ),
        ("mode: static\n  paradigm: liver", "tasks.0", "not one of the task's paradigms"),
        (
            "mode: closed_loop\n  step_time_limit_s: 600",
            "tasks.0",
            "must be smaller than the phase's time_limit_s",
        ),
        ("mode: static\n  extra: 1", "interaction.extra", "Extra inputs are not permitted"),
    ],
)
def test_a_bad_block_is_refused_naming_the_key(block, key, words):
    with pytest.raises(DomainError) as caught:
        parse_challenge_yaml(_yaml(f"interaction:\n  {block}"))
    assert caught.value.status == 422
    assert key in caught.value.message
    assert words in caught.value.message


@pytest.mark.postgres
def test_the_api_stores_and_shows_the_effective_interaction(client: TestClient, world: World):
    headers = {**world.headers("organiser"), "Content-Type": "application/yaml"}
    applied = client.put("/api/v1/challenges", content=_yaml(STATIC), headers=headers)
    assert applied.status_code == 200, applied.text
    (phase,) = applied.json()["tasks"][0]["phases"]
    assert phase["kind"] == "validation"
    assert phase["interaction"]["mode"] == "static"
    assert phase["interaction"]["paradigm"] == "venous"
    public = client.get("/api/v1/challenges/trials-interactive").json()
    assert public["tasks"][0]["phases"][0]["interaction"]["clicks"] == 10
    plain = client.put("/api/v1/challenges", content=_yaml(), headers=headers).json()
    assert plain["tasks"][0]["phases"][0]["interaction"] is None


def _archive(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _clicks(n: int = 2) -> bytes:
    return json.dumps({"tumor": [[1, 2, 3]] * n, "background": [[4, 5, 6], [7, 8, 9]][:n]}).encode()


def _interactive(db_session: Session, world: World, mode: str = "static") -> None:
    world.phase.interaction = {"mode": mode, "clicks": 2, "paradigm": "lesion"}
    for key in ("c1", "c2"):
        make_case(db_session, phase=world.phase, key=key)
    make_case(db_session, phase=world.phase, key="s1", is_sample=True)
    db_session.commit()


@pytest.mark.postgres
def test_click_files_are_checked_stored_as_versions_and_reactivated(
    client: TestClient, world: World, db_session: Session, settings
):
    _interactive(db_session, world)
    url = f"/api/v1/phases/{world.phase.id}/click-sets"
    good = _archive({"clicks/c1_clicks.json": _clicks(), "clicks/c2_clicks.json": _clicks(1)})
    first = client.post(url, content=good, headers=world.headers("organiser"))
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["version"], body["active"], body["created"], body["file_count"]) == (
        1,
        True,
        True,
        2,
    )
    assert any("lesion clicks repeat" in w for w in body["warnings"])
    stored = {p.name: p for p in files_under(settings.data_root)}
    # Stored as the reader reads it back: the TriALS simulator's "tumor" becomes "lesion".
    assert json.loads(stored["c2_clicks.json"].read_text())["lesion"] == [[1, 2, 3]]
    other = _archive({"c1_clicks.json": _clicks(1), "c2_clicks.json": _clicks(1)})
    assert (
        client.post(url, content=other, headers=world.headers("organiser")).json()["version"] == 2
    )
    again = client.post(url, content=good, headers=world.headers("organiser")).json()
    assert (again["version"], again["created"], again["active"]) == (1, False, True)
    listed = client.get(url, headers=world.headers("organiser")).json()
    assert [(c["version"], c["active"]) for c in listed] == [(1, True), (2, False)]
    assert client.post(url, content=good, headers=world.headers("team_a")).status_code == 403


@pytest.mark.postgres
def test_bad_click_files_are_refused_with_every_problem_and_nothing_stored(
    client: TestClient, world: World, db_session: Session, settings
):
    _interactive(db_session, world)
    url = f"/api/v1/phases/{world.phase.id}/click-sets"
    bad = _archive(
        {
            "c1_clicks.json": json.dumps({"lesion": [[1, 2]], "background": []}).encode(),
            "zz_clicks.json": _clicks(),
            "notes.txt": b"hello",
            "s1_clicks.json": json.dumps({"lesion": [[1, 2, 3]] * 3}).encode(),
        }
    )
    refused = client.post(url, content=bad, headers=world.headers("organiser"))
    assert refused.status_code == 422
    message = refused.json()["message"]
    for words in (
        "lesion[0]: expected [x, y, z]",
        "the phase has no case 'zz'",
        "notes.txt: not a click file",
        "holds 3 clicks; this phase uses 2",
        "no click file for case(s) c2",
    ):
        assert words in message
    assert files_under(settings.data_root) == []
    assert db_session.query(ClickSet).count() == 0


@pytest.mark.postgres
def test_phases_that_take_no_click_files_say_why(
    client: TestClient, world: World, db_session: Session
):
    url = f"/api/v1/phases/{world.phase.id}/click-sets"
    plain = client.post(url, content=_archive({}), headers=world.headers("organiser"))
    assert plain.status_code == 409
    assert "is not interactive" in plain.json()["message"]
    _interactive(db_session, world, mode="closed_loop")
    loop = client.post(url, content=_archive({}), headers=world.headers("organiser"))
    assert loop.status_code == 409
    assert "closed loop" in loop.json()["message"]


def _result(case: str, dice: list[float]) -> dict:
    steps = [StepResult(clicks=k, dice=d, assd=1.0, msd=2.0) for k, d in enumerate(dice)]
    return InteractiveCaseResult.build(case_id=case, mode="paper", steps=steps).to_dict()


def _scored(
    db_session: Session, world: World, team, cases: dict[str, int], curves: dict[str, list[float]]
) -> int:
    sub = make_submission(db_session, team=team, phase=world.phase)
    subs.set_status(db_session, sub, status=SubmissionStatus.RUNNING)
    subs.set_status(db_session, sub, status=SubmissionStatus.SCORING)
    subs.set_status(db_session, sub, status=SubmissionStatus.SUCCEEDED)
    evaluation = subs.create_evaluation(
        db_session, submission_id=sub.id, label_sets={}, scorer_version="t"
    )
    for key, dice in curves.items():
        result = _result(key, dice)
        interactive_repo.upsert_interactive_score(
            db_session,
            evaluation_id=evaluation.id,
            case_id=cases[key],
            paradigm="lesion",
            click_set_id=None,
            result=result,
        )
        subs.upsert_case_score(
            db_session,
            evaluation_id=evaluation.id,
            case_id=cases[key],
            paradigm="lesion",
            result={"status": "ok", "dice": dice[-1]},
        )
    db_session.commit()
    return sub.id


@pytest.mark.postgres
def test_results_are_read_by_organisers_and_by_the_team_in_validation_phases(
    client: TestClient, world: World, db_session: Session
):
    world.phase.interaction = {"mode": "closed_loop", "clicks": 2, "paradigm": "lesion"}
    cases = {k: make_case(db_session, phase=world.phase, key=k).id for k in ("c1", "c2")}
    a = _scored(db_session, world, world.team_a, cases, {"c1": [0, 0.5, 1], "c2": [0.2, 0.2, 0.4]})
    again = _scored(db_session, world, world.team_a, cases, {"c1": [0.1] * 3, "c2": [0] * 3})
    b = _scored(db_session, world, world.team_b, cases, {"c1": [1.0] * 3, "c2": [1.0] * 3})
    url = f"/api/v1/submissions/{a}/interactive-scores"
    mine = client.get(url, headers=world.headers("team_a"))
    assert mine.status_code == 200, mine.text
    cases = {c["case"]: c for c in mine.json()["cases"]}
    assert cases["c1"]["dice_curve"] == [0.0, 0.5, 1.0]
    assert cases["c1"]["dsc_auc"] == pytest.approx(1.0)
    assert cases["c1"]["result"]["steps"][2]["dice"] == 1.0
    brief = client.get(url + "?detail=false", headers=world.headers("team_a")).json()
    assert brief["cases"][0]["result"] is None
    assert client.get(url, headers=world.headers("team_b")).status_code == 403
    assert client.get(url, headers=world.headers("organiser")).status_code == 200
    world.phase.kind = PhaseKind.FINAL
    db_session.commit()
    final = client.get(url, headers=world.headers("team_a"))
    assert final.status_code == 403
    assert "for the organisers" in final.json()["message"]
    # The phase view ranks each team's counted submission (latest: team A's second one).
    phase = client.get(
        f"/api/v1/phases/{world.phase.id}/interactive-scores", headers=world.headers("organiser")
    ).json()
    assert {s["submission_id"] for s in phase["submissions"]} == {again, b}
    assert phase["interaction"]["mode"] == "closed_loop"
    counted = counted_case_results(db_session, phase_id=world.phase.id)
    curves = counted[world.team_b.id].by_paradigm()["lesion"]
    assert [r.final["dice"] for r in curves] == [1.0, 1.0]
    assert (
        client.get(
            f"/api/v1/phases/{world.phase.id}/interactive-scores", headers=world.headers("team_a")
        ).status_code
        == 403
    )
