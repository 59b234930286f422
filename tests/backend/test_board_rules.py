"""Boards under a phase's ranking rules, with reference rows, intervals, significance maps,
lesion-size strata and label versions; on real PostgreSQL through the API."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.challenges.models import LabelSet
from backend.config import Settings
from backend.enums import Role, SubmissionStatus
from backend.leaderboard import cache
from backend.leaderboard.rules import RankingRules
from backend.submissions import repository as subs_repo
from backend.submissions.models import CaseScore, Evaluation
from scoring.ranking import leaderboard
from scoring.results import CaseResult
from tests.backend.factories import make_user
from tests.backend.leaderboard_seed import ReferenceSpec, Seeded, TeamSpec, seed_phase
from tests.backend.test_leaderboard_api import _token

pytestmark = pytest.mark.postgres

TEAMS = [
    TeamSpec(name="Alpha", qualities=[0.92]),
    TeamSpec(name="Bravo", qualities=[0.8]),
    TeamSpec(name="Charlie", qualities=[0.62]),
    TeamSpec(name="Delta", qualities=[0.45]),
]
REFERENCES = [
    ReferenceSpec(name="Second reader", kind="human", quality=0.97, link="https://example.org/ir"),
    ReferenceSpec(name="nnU-Net default", kind="baseline", quality=0.7),
]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.BOARDS.clear()
    cache.RESULTS.clear()
    yield
    cache.BOARDS.clear()
    cache.RESULTS.clear()


def _seed(session: Session, **kwargs: Any) -> Seeded:
    kwargs.setdefault("teams", TEAMS)
    kwargs.setdefault("centres", {"A": 5, "B": 4})
    seeded = seed_phase(session, **kwargs)
    session.commit()
    return seeded


def _board(client: TestClient, phase_id: int, **params: Any) -> dict[str, Any]:
    headers = params.pop("headers", None)
    r = client.get(f"/api/v1/phases/{phase_id}/leaderboard", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _rows(board: dict[str, Any]) -> list[tuple[int | None, str]]:
    return [(r["position"], r["team"]) for r in board["rows"]]


def test_reference_rows_ranked_or_beside_the_teams_per_phase_setting(
    client: TestClient, db_session: Session
) -> None:
    rules = {"ties": "average", "references": {"baseline": "ranked", "human": "unranked"}}
    seeded = _seed(db_session, references=REFERENCES, ranking=rules)
    board = _board(client, seeded.phase.id)
    assert board["rules"]["ties"] == "average"
    assert board["rules"]["references"] == {
        "baseline": "ranked",
        "human": "unranked",
        "off-the-shelf": "unranked",
    }
    # The baseline takes a position among the teams; the human reader is shown unranked.
    assert _rows(board) == [
        (1, "Alpha"),
        (2, "Bravo"),
        (3, "nnU-Net default"),
        (4, "Charlie"),
        (5, "Delta"),
        (None, "Second reader"),
    ]
    human = board["rows"][-1]
    assert human["kind"] == "human"
    assert human["ranked"] is False
    assert human["reference"]["kind"] == "human"
    assert human["method"] == {
        "name": "Second reader",
        "link": "https://example.org/ir",
        "writeup_url": None,
    }
    assert human["score"] is None
    assert human["stability"] is None
    dice = human["cells"]["venous:lesion_dice_per_case"]
    assert dice["rank"] is None
    assert dice["value"] > board["rows"][0]["cells"]["venous:lesion_dice_per_case"]["value"]
    assert board["rows"][2]["kind"] == "baseline"
    assert board["rows"][2]["ranked"] is True
    assert board["rows"][0]["entries"] == 1
    assert board["rows"][2]["entries"] is None
    # Ranks among ranked entries only: the unranked human does not push anyone down.
    assert board["rows"][0]["cells"]["venous:lesion_dice_per_case"]["rank"] == 1

    # All unranked: the teams' positions are those of a board without references.
    seeded.phase.ranking = {"references": "unranked"}
    db_session.commit()
    board = _board(client, seeded.phase.id)
    assert [t for p, t in _rows(board) if p is not None] == ["Alpha", "Bravo", "Charlie", "Delta"]
    assert [t for p, t in _rows(board) if p is None] == ["Second reader", "nnU-Net default"]


def test_ties_follow_the_phase_rule(client: TestClient, db_session: Session) -> None:
    twins = [
        TeamSpec(name="Twin A", qualities=[0.8]),
        TeamSpec(name="Twin B", qualities=[0.8]),
        TeamSpec(name="Last", qualities=[0.5]),
    ]
    for ties, expected in (("min", 1.0), ("average", 1.5)):
        seeded = _seed(db_session, teams=twins, noise=0.0, ranking={"ties": ties})
        board = _board(client, seeded.phase.id)
        cell = board["rows"][0]["cells"]["venous:lesion_dice_per_case"]
        assert cell["rank"] == expected, ties
        assert [p for p, _ in _rows(board)] == [1, 1, 3]


def test_rank_then_mean_is_challenger_per_case_ranking(
    client: TestClient, db_session: Session, organiser: dict[str, str]
) -> None:
    seeded = _seed(db_session, ranking={"aggregation": "rank_then_mean", "ties": "average"})
    board = _board(client, seeded.phase.id, centre="A")
    assert board["rules"]["aggregation"] == "rank_then_mean"
    # The same per-case ranking straight from scoring.ranking on the stored results.
    subs = {}
    for row in board["rows"]:
        scores = client.get(
            f"/api/v1/submissions/{row['submission_id']}/case-scores", headers=organiser
        ).json()["scores"]
        subs[row["team"]] = {
            "venous": [CaseResult.from_dict({**s["result"], "case_id": s["case"]}) for s in scores]
        }
    centres = {f"A_{i:03d}": "A" for i in range(5)} | {f"B_{i:03d}": "B" for i in range(4)}
    expected = leaderboard(
        subs, centres=centres, paradigms=["venous"], ties="average", aggregation="per_case"
    )
    for row in board["rows"]:
        assert row["score"] == pytest.approx(expected.centres["A"].score[row["team"]])


@pytest.fixture
def organiser(db_session: Session, settings: Settings) -> dict[str, str]:
    headers = _token(db_session, settings, make_user(db_session, role=Role.ORGANISER))
    db_session.commit()
    return headers


def test_intervals_significance_and_strata_on_the_board_and_in_the_csv(
    client: TestClient, db_session: Session
) -> None:
    seeded = _seed(db_session, references=REFERENCES[:1], noise=0.05)
    board = _board(client, seeded.phase.id)
    assert board["stability"]["interval_confidence"] == 0.95
    assert board["stability"]["kendall_tau_samples"] > 0
    for row in board["rows"]:
        for key, cell in row["cells"].items():
            low, high = cell["interval"]
            if cell["value"] is not None and not key.endswith(("rvd", "assd", "rmsd", "msd")):
                assert low - 1e-9 <= cell["value"] <= high + 1e-9, (row["team"], key)
    # Alpha's per-case Dice beats Delta's on every case: significant after Holm.
    (sig,) = board["significance"]
    assert sig["metric"] == "lesion_dice_per_case"
    assert sig["cases"] == 9
    assert sig["entries"] == [r["team"] for r in board["rows"]]
    a, d = sig["entries"].index("Alpha"), sig["entries"].index("Delta")
    assert sig["significant"][a][d] is True
    assert sig["significant"][d][a] is False
    assert sig["p_adjusted"][a][a] is None
    # Lesion-size strata: cases cycle 50, 500, 5000 mm³; Delta (0.45) misses every lesion.
    assert board["strata_bounds"] == [100.0, 1000.0]
    alpha = board["rows"][sig["entries"].index("Alpha")]
    delta = next(r for r in board["rows"] if r["team"] == "Delta")
    assert [s["f1"] for s in alpha["strata"]["venous"]] == [1.0, 1.0, 1.0]
    assert [s["tp"] for s in delta["strata"]["venous"]] == [0, 0, 0]
    assert sum(s["fn"] for s in delta["strata"]["venous"]) == 9
    centre_b = _board(client, seeded.phase.id, centre="B")
    assert sum(s["fn"] + s["tp"] for s in centre_b["rows"][0]["strata"]["venous"]) == 4
    assert centre_b["significance"][0]["cases"] == 4

    r = client.get(f"/api/v1/phases/{seeded.phase.id}/leaderboard.csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["team"] for row in rows] == [r["team"] for r in board["rows"]]
    human = rows[-1]
    assert (human["kind"], human["ranked"], human["position"]) == ("human", "False", "")
    low = float(rows[0]["venous:lesion_dice_per_case 95% low"])
    high = float(rows[0]["venous:lesion_dice_per_case 95% high"])
    assert low <= float(rows[0]["venous:lesion_dice_per_case"]) <= high
    assert low < high


def test_old_results_without_lesion_volumes_say_so(client: TestClient, db_session: Session) -> None:
    seeded = _seed(db_session, teams=TEAMS[:2])
    evaluations = [
        e.id
        for subs in seeded.submissions.values()
        for sub in subs
        if (e := subs_repo.latest_evaluation(db_session, sub.id)) is not None
    ]
    for score in db_session.scalars(
        select(CaseScore).where(CaseScore.evaluation_id.in_(evaluations))
    ):
        score.result = {k: v for k, v in score.result.items() if not k.endswith("lesion_mm3")}
    db_session.commit()
    board = _board(client, seeded.phase.id)
    assert all(r["strata"] is None for r in board["rows"])
    assert any("re-score the phase" in n for n in board["notes"])


def test_label_versions_rank_one_consistent_set_and_say_what_waits(
    client: TestClient, db_session: Session
) -> None:
    seeded = _seed(db_session, label_versions={"venous": 1})
    board = _board(client, seeded.phase.id)
    assert board["label_versions"]["ranked"] == {"venous": 1}
    assert all(r["label_versions"] == {"venous": 1} for r in board["rows"])
    # Version 2 becomes active: nothing re-scored yet, so the v1 board stays, re-scoring.
    db_session.add(
        LabelSet(
            task_id=seeded.task.id,
            paradigm="venous",
            version=2,
            sha256="v2",
            active=True,
            storage_path="labels/venous/v2",
        )
    )
    db_session.commit()
    cache.BOARDS.clear()
    board = _board(client, seeded.phase.id)
    assert board["label_versions"] == {
        "ranked": {"venous": 1},
        "active": {"venous": 2},
        "rescoring": True,
        "waiting": [],
    }
    assert len(board["rows"]) == 4
    # Alpha and Charlie are re-scored against v2: the board ranks those, the others wait.
    for name in ("Alpha", "Charlie"):
        sub = seeded.submissions[name][0]
        old = subs_repo.latest_evaluation(db_session, sub.id)
        assert old is not None
        new = Evaluation(
            submission_id=sub.id,
            scorer_version="seed",
            mode=old.mode,
            label_sets={"venous": {"label_set_id": 0, "version": 2, "sha256": "v2"}},
        )
        db_session.add(new)
        db_session.flush()
        for score in db_session.scalars(
            select(CaseScore).where(CaseScore.evaluation_id == old.id)
        ).all():
            db_session.add(
                CaseScore(
                    evaluation_id=new.id,
                    case_id=score.case_id,
                    paradigm=score.paradigm,
                    status=score.status,
                    dice=score.dice,
                    result=score.result,
                )
            )
    db_session.commit()
    board = _board(client, seeded.phase.id)
    assert _rows(board) == [(1, "Alpha"), (2, "Charlie")]
    labels = board["label_versions"]
    assert labels["ranked"] == {"venous": 2}
    assert labels["rescoring"] is True
    assert [w["team"] for w in labels["waiting"]] == ["Bravo", "Delta"]
    assert any("waiting for re-scoring" in n for n in board["notes"])


def test_rules_from_the_yaml_block_and_their_errors(client: TestClient, world: Any) -> None:
    yaml_text = """
slug: ranked
title: Ranked
tasks:
  - slug: task1
    title: Task 1
    input_phase: venous
    paradigms: [venous]
    phases:
      - slug: validation
        title: Validation
        kind: validation
        submission_limit: 3
        opens_at: "2026-01-01T00:00:00Z"
        closes_at: "2027-01-01T00:00:00Z"
        ranking:
          ties: average
          aggregation: rank_then_mean
          references: {human: unranked, baseline: ranked}
          size_strata_mm3: [50, 500, 5000]
        writeup: {required: true, max_mb: 5}
"""
    headers = {**world.headers("organiser"), "Content-Type": "application/yaml"}
    r = client.put("/api/v1/challenges", content=yaml_text, headers=headers)
    assert r.status_code == 200, r.text
    phase = r.json()["tasks"][0]["phases"][0]
    assert RankingRules.model_validate(phase["ranking"]).references["baseline"] == "ranked"
    assert phase["ranking"]["size_strata_mm3"] == [50.0, 500.0, 5000.0]
    assert phase["writeup"] == {"required": True, "max_mb": 5}
    for bad, words in (
        ("ties: average", "ties: first"),
        ("size_strata_mm3: [50, 500, 5000]", "size_strata_mm3: [500, 50]"),
        ("aggregation: rank_then_mean", "aggregation: rank_then_mean\n          colour: red"),
    ):
        r = client.put("/api/v1/challenges", content=yaml_text.replace(bad, words), headers=headers)
        assert r.status_code == 422, words
        assert "ranking" in r.json()["message"]


def test_a_rerun_reference_keeps_its_row_until_it_succeeds(
    client: TestClient, db_session: Session
) -> None:
    seeded = _seed(db_session, references=REFERENCES[1:], ranking={"references": "ranked"})
    sub = subs_repo.get_submission(db_session, seeded.references["nnU-Net default"].submission_id)
    assert sub is not None
    subs_repo.set_status(db_session, sub, status=SubmissionStatus.QUEUED, message="again")
    db_session.commit()
    board = _board(client, seeded.phase.id)
    row = next(r for r in board["rows"] if r["team"] == "nnU-Net default")
    assert row["rerunning"] is True
    assert row["position"] is not None
