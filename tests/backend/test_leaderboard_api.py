"""The leaderboard API on real PostgreSQL: order, filters, visibility, cache, CSV, history."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.auth.service import issue_token
from backend.config import Settings
from backend.enums import (
    LeaderboardVisibility,
    PhaseKind,
    RankingSelection,
    Role,
    SubmissionStatus,
)
from backend.jobs import RecordingJobQueue
from backend.leaderboard import cache
from backend.submissions import repository as subs_repo
from tests.backend.factories import make_submission, make_user
from tests.backend.leaderboard_seed import Seeded, TeamSpec, case_result, seed_phase

pytestmark = pytest.mark.postgres

TEAMS = [
    TeamSpec(name="Alpha", qualities=[0.9]),
    TeamSpec(name="Bravo", qualities=[0.95, 0.7]),  # the latest (0.7) counts by default
    TeamSpec(name="Charlie", qualities=[0.5]),
    TeamSpec(name="Organisers", qualities=[0.97], affiliated=True),
]


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.BOARDS.clear()
    cache.RESULTS.clear()
    yield
    cache.BOARDS.clear()
    cache.RESULTS.clear()


def _token(session: Session, settings: Settings, user: User) -> dict[str, str]:
    token = issue_token(session, user=user, name="t", secret_key=settings.secret_key, ttl_days=1)
    return {"Authorization": f"Bearer {token[1]}"}


@pytest.fixture
def organiser(db_session: Session, settings: Settings) -> dict[str, str]:
    headers = _token(db_session, settings, make_user(db_session, role=Role.ORGANISER))
    db_session.commit()
    return headers


def _seed(session: Session, **kwargs: object) -> Seeded:
    kwargs.setdefault("teams", TEAMS)
    kwargs.setdefault("centres", {"A": 4, "B": 3})
    seeded = seed_phase(session, **kwargs)  # type: ignore[arg-type]
    session.commit()
    return seeded


def _board(client: TestClient, phase_id: int, **params: str) -> dict[str, object]:
    headers = params.pop("headers", None)  # type: ignore[call-overload]
    r = client.get(f"/api/v1/phases/{phase_id}/leaderboard", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, object] = r.json()
    return body


def _order(board: dict[str, object]) -> list[tuple[int, str]]:
    return [(row["position"], row["team"]) for row in board["rows"]]  # type: ignore[attr-defined, index]


def test_public_board_ranks_latest_submissions_without_affiliated_teams(
    client: TestClient, db_session: Session
) -> None:
    seeded = _seed(db_session)
    board = _board(client, seeded.phase.id)
    assert board["hidden"] is False
    assert board["public"] is True
    assert _order(board) == [(1, "Alpha"), (2, "Bravo"), (3, "Charlie")]
    rows = board["rows"]
    alpha = rows[0]  # type: ignore[index]
    assert alpha["submission_id"] == seeded.submissions["Alpha"][0].id
    assert rows[1]["submission_id"] == seeded.submissions["Bravo"][1].id  # type: ignore[index]
    assert len(board["columns"]) == 11  # type: ignore[arg-type]
    for col in board["columns"]:  # type: ignore[attr-defined]
        assert alpha["cells"][col["key"]]["rank"] == 1
    assert set(alpha["centre_scores"]) == {"A", "B"}
    stab = alpha["stability"]
    assert abs(sum(stab["rank_shares"]) - 1) < 1e-9
    assert stab["interval"][0] <= stab["median"] <= stab["interval"][1]
    assert board["stability"]["samples"] == 1000  # type: ignore[index]
    assert board["stability"]["cases_per_centre"] == {"A": 4, "B": 3}  # type: ignore[index]


def test_organisers_view_marks_affiliated_teams_and_reranks(
    client: TestClient, db_session: Session, organiser: dict[str, str]
) -> None:
    seeded = _seed(db_session)
    board = _board(client, seeded.phase.id, view="organisers", headers=organiser)  # type: ignore[arg-type]
    assert _order(board) == [(1, "Organisers"), (2, "Alpha"), (3, "Bravo"), (4, "Charlie")]
    assert [r["affiliated"] for r in board["rows"]] == [True, False, False, False]  # type: ignore[attr-defined]
    r = client.get(f"/api/v1/phases/{seeded.phase.id}/leaderboard", params={"view": "organisers"})
    assert r.status_code == 403


def test_best_selection_ranks_each_teams_best_submission(
    client: TestClient, db_session: Session
) -> None:
    seeded = _seed(db_session, selection=RankingSelection.BEST)
    assert _order(_board(client, seeded.phase.id))[0] == (1, "Bravo")


def test_centre_and_paradigm_filters(client: TestClient, db_session: Session) -> None:
    seeded = _seed(db_session, paradigms=("visible", "combined"))
    final = _board(client, seeded.phase.id)
    assert len(final["columns"]) == 17  # type: ignore[arg-type]
    combined = _board(client, seeded.phase.id, paradigm="combined")
    assert [c["metric"] for c in combined["columns"]][:2] == [  # type: ignore[attr-defined]
        "lesion_dice_per_case",
        "lesion_dice_global",
    ]
    assert len(combined["columns"]) == 6  # type: ignore[arg-type]
    centre = _board(client, seeded.phase.id, centre="B", paradigm="visible")
    assert _order(centre) == [(1, "Alpha"), (2, "Bravo"), (3, "Charlie")]
    assert centre["rows"][0]["centre_scores"] == {}  # type: ignore[index]
    assert centre["stability"]["cases_per_centre"] == {"A": 4, "B": 3}  # type: ignore[index]
    for bad, message in ((("centre", "Z"), "centre 'Z'"), (("paradigm", "venous"), "paradigm")):
        r = client.get(f"/api/v1/phases/{seeded.phase.id}/leaderboard", params=dict([bad]))
        assert r.status_code == 422
        assert message in r.json()["message"]


def test_hidden_final_phase_until_closed_and_published(
    client: TestClient, db_session: Session, organiser: dict[str, str], settings: Settings
) -> None:
    seeded = _seed(
        db_session, kind=PhaseKind.FINAL, visibility=LeaderboardVisibility.HIDDEN_UNTIL_CLOSE
    )
    pid = seeded.phase.id
    participant = _token(db_session, settings, seeded.users["Alpha"])
    db_session.commit()
    for headers in (None, participant):
        board = _board(client, pid, headers=headers)  # type: ignore[arg-type]
        assert board["hidden"] is True
        assert board["rows"] == []
        assert board["columns"] == []
        assert "Hidden until the phase closes" in board["hidden_note"]  # type: ignore[operator]
    assert client.get(f"/api/v1/phases/{pid}/leaderboard.csv").status_code == 403
    inside = _board(client, pid, headers=organiser)  # type: ignore[arg-type]
    assert inside["public"] is False
    assert len(inside["rows"]) == 3
    r = client.post(f"/api/v1/phases/{pid}/leaderboard/publish", headers=organiser)
    assert r.status_code == 409
    assert "still open" in r.json()["message"]
    r = client.post(f"/api/v1/phases/{pid}/leaderboard/publish", headers=participant)
    assert r.status_code == 403
    seeded.phase.closes_at = datetime.now(UTC) - timedelta(minutes=1)
    db_session.commit()
    assert "organisers publish" in _board(client, pid)["hidden_note"]  # type: ignore[operator]
    r = client.post(f"/api/v1/phases/{pid}/leaderboard/publish", headers=organiser)
    assert r.status_code == 200, r.text
    board = _board(client, pid)
    assert board["public"] is True
    assert _order(board)[0] == (1, "Alpha")


def test_live_final_phase_stays_hidden(client: TestClient, db_session: Session) -> None:
    seeded = _seed(db_session, kind=PhaseKind.FINAL, visibility=LeaderboardVisibility.LIVE)
    assert _board(client, seeded.phase.id)["hidden"] is True


def test_cache_serves_until_a_score_is_written_and_the_hook_bumps(
    client: TestClient, db_session: Session
) -> None:
    seeded = _seed(db_session, teams=TEAMS[:3])
    pid = seeded.phase.id
    first = _board(client, pid)
    hits, misses = cache.BOARDS.hits, cache.BOARDS.misses
    assert _board(client, pid) == first
    # Served from the cache: the board and its serialised bytes, nothing rebuilt.
    assert (cache.BOARDS.hits, cache.BOARDS.misses) == (hits + 2, misses)
    # Charlie's counted submission now scores perfectly on every case.
    charlie = seeded.submissions["Charlie"][0]
    evaluation = subs_repo.latest_evaluation(db_session, charlie.id)
    assert evaluation is not None
    for score in subs_repo.case_scores(db_session, evaluation.id):
        key = score.result["case_id"]
        subs_repo.upsert_case_score(
            db_session,
            evaluation_id=evaluation.id,
            case_id=score.case_id,
            paradigm=score.paradigm,
            result=case_result(key, 1.0).to_dict(),
        )
    db_session.commit()
    assert _board(client, pid) == first  # nobody told the cache yet
    cache.leaderboard_changed(db_session, phase_id=pid)
    db_session.commit()
    assert _order(_board(client, pid))[0] == (1, "Charlie")


def test_cache_sees_team_changes_without_a_bump(client: TestClient, db_session: Session) -> None:
    seeded = _seed(db_session, teams=TEAMS[:3])
    assert len(_board(client, seeded.phase.id)["rows"]) == 3  # type: ignore[arg-type]
    seeded.teams["Alpha"].organiser_affiliated = True
    db_session.commit()
    assert _order(_board(client, seeded.phase.id)) == [(1, "Bravo"), (2, "Charlie")]


def test_csv_export(client: TestClient, db_session: Session) -> None:
    seeded = _seed(db_session)
    r = client.get(f"/api/v1/phases/{seeded.phase.id}/leaderboard.csv", params={"centre": "A"})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert "-A.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["team"] for row in rows] == ["Alpha", "Bravo", "Charlie"]
    assert rows[0]["venous:lesion_dice_per_case rank"] == "1.0"
    assert float(rows[0]["venous:lesion_dice_per_case"]) > float(
        rows[2]["venous:lesion_dice_per_case"]
    )


def test_history_shows_own_team_logs_on_validation_only(
    client: TestClient, db_session: Session, organiser: dict[str, str], settings: Settings
) -> None:
    seeded = _seed(db_session)
    bravo = _token(db_session, settings, seeded.users["Bravo"])
    db_session.commit()
    pid = seeded.phase.id
    r = client.get(f"/api/v1/phases/{pid}/history", headers=bravo)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["team"]["name"] == "Bravo"
    assert body["logs_shown"] is True
    assert [s["counted"] for s in body["submissions"]] == [True, False]  # newest first
    assert body["submissions"][0]["log_tail"] == "Bravo log line 1"
    assert body["quota"] == {"limit": 10, "used": 2, "remaining": 8}
    assert [e["change"] for e in body["ledger"]] == [-1, -1]
    other = seeded.teams["Alpha"].id
    r = client.get(f"/api/v1/phases/{pid}/history", params={"team_id": other}, headers=bravo)
    assert r.status_code == 403
    r = client.get(f"/api/v1/phases/{pid}/history", params={"team_id": other}, headers=organiser)
    assert r.status_code == 200
    assert r.json()["team"]["name"] == "Alpha"
    assert client.get(f"/api/v1/phases/{pid}/history").status_code == 401
    final = _seed(db_session, kind=PhaseKind.FINAL, teams=[TeamSpec(name="Delta", qualities=[0.6])])
    delta = _token(db_session, settings, final.users["Delta"])
    db_session.commit()
    body = client.get(f"/api/v1/phases/{final.phase.id}/history", headers=delta).json()
    assert body["logs_shown"] is False
    assert body["submissions"][0]["log_tail"] is None
    # A failed pre-flight ran on the public sample cases only: its log is the team's to
    # read, in the history as in the submission itself (one rule, one answer).
    failed = make_submission(db_session, team=final.teams["Delta"], phase=final.phase)
    subs_repo.set_status(db_session, failed, status=SubmissionStatus.PREFLIGHT)
    subs_repo.set_status(
        db_session, failed, status=SubmissionStatus.FAILED_PREFLIGHT, log_tail="sample crash"
    )
    db_session.commit()
    body = client.get(f"/api/v1/phases/{final.phase.id}/history", headers=delta).json()
    assert [(s["status"], s["log_tail"]) for s in body["submissions"]] == [
        ("failed_preflight", "sample crash"),
        ("succeeded", None),
    ]
    for s in body["submissions"]:
        one = client.get(f"/api/v1/submissions/{s['id']}", headers=delta).json()
        assert one["log_tail"] == s["log_tail"]


def test_case_scores_and_rescore_are_for_organisers(
    client: TestClient,
    db_session: Session,
    organiser: dict[str, str],
    settings: Settings,
    jobs: RecordingJobQueue,
) -> None:
    seeded = _seed(db_session)
    alpha = _token(db_session, settings, seeded.users["Alpha"])
    db_session.commit()
    sub = seeded.submissions["Alpha"][0].id
    assert client.get(f"/api/v1/submissions/{sub}/case-scores", headers=alpha).status_code == 403
    body = client.get(f"/api/v1/submissions/{sub}/case-scores", headers=organiser).json()
    assert len(body["scores"]) == 7
    assert body["scores"][0]["case"] == "A_000"
    assert body["scores"][0]["centre"] == "A"
    assert client.post(f"/api/v1/submissions/{sub}/rescore", headers=alpha).status_code == 403
    r = client.post(f"/api/v1/submissions/{sub}/rescore", headers=organiser)
    assert r.status_code == 200, r.text
    assert [(j.task_name, j.args) for j in jobs.sent] == [("evaluate_submission", (sub,))]
    db_session.expire_all()
    assert subs_repo.get_submission(db_session, sub).queue == settings.evaluation_queue
    r = client.post(f"/api/v1/submissions/{sub}/rescore", headers=organiser)
    assert r.status_code == 409
    # Alpha's only submission is queued again: its previous result stays on the board,
    # marked, until the new run succeeds (or leaves it, if the run fails).
    board = _board(client, seeded.phase.id)
    assert _order(board) == [(1, "Alpha"), (2, "Bravo"), (3, "Charlie")]
    assert [r["rerunning"] for r in board["rows"]] == [True, False, False]  # type: ignore[attr-defined]
    failed = subs_repo.get_submission(db_session, sub)
    # The re-run starts, then the team's container crashes (moves the lifecycle allows).
    subs_repo.set_status(db_session, failed, status=SubmissionStatus.RUNNING)
    subs_repo.set_status(db_session, failed, status=SubmissionStatus.FAILED, message="crashed")
    db_session.commit()
    assert [t for _, t in _order(_board(client, seeded.phase.id))] == ["Bravo", "Charlie"]


def test_select_counts_the_teams_choice(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    seeded = _seed(db_session, selection=RankingSelection.SELECTED)
    bravo = _token(db_session, settings, seeded.users["Bravo"])
    db_session.commit()
    first = seeded.submissions["Bravo"][0].id
    assert _order(_board(client, seeded.phase.id))[1] == (2, "Bravo")
    r = client.post(f"/api/v1/submissions/{first}/select", headers=bravo)
    assert r.status_code == 200, r.text
    assert _order(_board(client, seeded.phase.id))[0] == (1, "Bravo")
    alpha_sub = seeded.submissions["Alpha"][0].id
    assert client.post(f"/api/v1/submissions/{alpha_sub}/select", headers=bravo).status_code == 403


def test_unknown_phase_is_404(client: TestClient) -> None:
    r = client.get("/api/v1/phases/999999/leaderboard")
    assert r.status_code == 404
    assert "phase 999999" in r.json()["message"]


def test_a_paradigm_without_a_metric_set_is_explained(
    client: TestClient, db_session: Session
) -> None:
    seeded = _seed(db_session, paradigms=("liver",))
    r = client.get(f"/api/v1/phases/{seeded.phase.id}/leaderboard")
    assert r.status_code == 409
    assert "no metric set for paradigm 'liver'" in r.json()["message"]
