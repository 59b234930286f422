"""Interactive boards through the API on PostgreSQL: the six curve metrics ranked per centre with
bootstrap stability, configurable like other metric sets, and each team's mean Dice curve.

Three teams of :mod:`tests.backend.interactive_seed` (four clicks): Steady starts well and
gains little, Learner starts low and ends perfect, Flat never improves. Steady wins the three
AUCs, Learner the three final values, so the two share first place.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.challenges.spec import parse_challenge_yaml
from backend.errors import DomainError
from backend.leaderboard import cache
from tests.backend.interactive_seed import Learner, curve_case, seed_interactive_phase

pytestmark = pytest.mark.postgres

CLICKS = 4
TEAMS = [
    Learner("Steady", start=0.80, gain=0.02),
    Learner("Learner", start=0.40, gain=0.15),
    Learner("Flat", start=0.60, gain=0.0),
    Learner("House", start=0.95, gain=0.01, affiliated=True),
]
CENTRES = {"A": 3, "B": 4}
SIX = ["DSC@AUC", "ASD@AUC", "MSD@AUC", "DSC@Final", "ASD@Final", "MSD@Final"]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.BOARDS.clear()
    cache.RESULTS.clear()
    yield
    cache.BOARDS.clear()
    cache.RESULTS.clear()


def _board(client: TestClient, phase_id: int, **params: str) -> dict:
    r = client.get(f"/api/v1/phases/{phase_id}/leaderboard", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _expected(team: Learner, keys: list[str]) -> dict[str, float]:
    """The team's mean per-case values over ``keys``, as the seed built them."""
    index = {
        k: i
        for i, k in enumerate(sorted(f"{c}_{i:03d}" for c, n in CENTRES.items() for i in range(n)))
    }
    results = [
        curve_case(k, start=team.start + 0.01 * (index[k] % 3), gain=team.gain, clicks=CLICKS)
        for k in keys
    ]
    return {
        "dsc_auc": float(np.mean([r.auc["dice"] for r in results])),
        "msd_final": float(np.mean([r.final["msd"] for r in results])),
        "curve": np.mean([r.curve("dice") for r in results], axis=0).tolist(),
    }


def test_an_interactive_board_ranks_the_curve_metrics_per_centre(
    client: TestClient, db_session: Session
) -> None:
    seeded = seed_interactive_phase(db_session, teams=TEAMS, centres=CENTRES, clicks=CLICKS)
    db_session.commit()
    board = _board(client, seeded.phase.id)
    assert [c["label"] for c in board["columns"]] == SIX
    assert [c["direction"] for c in board["columns"]] == ["higher", *["lower"] * 2] * 2
    positions = {r["team"]: r["position"] for r in board["rows"]}
    assert positions == {"Steady": 1, "Learner": 1, "Flat": 3}  # House is not ranked publicly
    assert board["stability"]["samples"] == 1000
    assert all(r["stability"] is not None for r in board["rows"])

    for centre, count in CENTRES.items():
        keys = [f"{centre}_{i:03d}" for i in range(count)]
        by_centre = _board(client, seeded.phase.id, centre=centre)
        for row in by_centre["rows"]:
            team = next(t for t in TEAMS if t.name == row["team"])
            want = _expected(team, keys)
            cells = row["cells"]
            assert cells["venous:interactive_dsc_auc"]["value"] == pytest.approx(want["dsc_auc"])
            assert cells["venous:interactive_msd_final"]["value"] == pytest.approx(
                want["msd_final"]
            )
            low, high = cells["venous:interactive_dsc_auc"]["interval"]
            assert low <= want["dsc_auc"] + 1e-9
            assert high >= want["dsc_auc"] - 1e-9
        # The curves over this centre's cases, one per ranked team, in board order.
        curves = {c["team"]: c for c in by_centre["curves"]}
        assert list(curves) == [r["team"] for r in by_centre["rows"]]
        learner = curves["Learner"]
        assert learner["dice"] == pytest.approx(_expected(TEAMS[1], keys)["curve"])
        assert len(learner["dice"]) == CLICKS + 1
        assert learner["dice"][-1] == 1.0

    # Over all cases: the mean curve of every case; the organisers' view adds House.
    every = [f"{c}_{i:03d}" for c, n in CENTRES.items() for i in range(n)]
    overall = {c["team"]: c["dice"] for c in board["curves"]}
    assert overall["Flat"] == pytest.approx(_expected(TEAMS[2], every)["curve"])
    assert "House" not in overall


def test_the_metric_set_is_the_tasks_when_it_names_interactive_metrics(
    client: TestClient, db_session: Session
) -> None:
    seeded = seed_interactive_phase(db_session, teams=TEAMS[:3], centres=CENTRES, clicks=CLICKS)
    seeded.task.metric_sets = {"venous": ["interactive_dsc_final", "lesion_dice_per_case"]}
    db_session.commit()
    board = _board(client, seeded.phase.id)
    assert [c["label"] for c in board["columns"]] == ["DSC@Final", "lesion_dice_per_case"]
    # Both rank the prediction at the last click: Learner reaches 1.0, Steady 0.88.
    assert [r["team"] for r in board["rows"]] == ["Learner", "Steady", "Flat"]
    learner = board["rows"][0]["cells"]
    assert learner["venous:lesion_dice_per_case"]["value"] == pytest.approx(1.0)


def test_a_task_with_plain_phases_cannot_rank_interactive_metrics() -> None:
    yaml = """
slug: c
title: C
tasks:
  - slug: t
    title: T
    input_phase: venous
    paradigms: [venous]
    metric_sets: {venous: [interactive_dsc_auc]}
    phases:
      - {slug: validation, title: V, kind: validation, submission_limit: 1,
         opens_at: "2026-01-01T00:00:00Z", closes_at: "2027-01-01T00:00:00Z"}
"""
    with pytest.raises(DomainError) as refused:
        parse_challenge_yaml(yaml)
    assert refused.value.status == 422
    assert "phase(s) validation have no interaction: block" in refused.value.message
