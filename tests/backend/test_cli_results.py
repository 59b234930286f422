"""``podium submissions list``, ``podium phase publish`` and ``podium phase export``.

On real PostgreSQL, committed as the CLI commits, against a phase seeded with
scored submissions: the list shows and filters every team's submissions; publish
goes through the API's rule (refused while open) and audit; the export's
leaderboard CSV is byte for byte the API's, and its per-case files hold one row
per submission, case and paradigm with every CaseResult field.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from backend.audit.models import AuditEvent
from backend.auth.service import issue_token
from backend.challenges.models import Phase
from backend.cli import app
from backend.config import Settings, get_settings
from backend.db import make_engine, make_session_factory
from backend.enums import LeaderboardVisibility, PhaseKind, Role, SubmissionStatus
from backend.jobs import RecordingJobQueue
from backend.leaderboard import cache
from backend.main import create_app
from backend.submissions.models import CaseScore
from tests.backend.factories import make_user
from tests.backend.leaderboard_seed import TeamSpec, seed_phase

pytestmark = pytest.mark.postgres

SECRET = "test-secret-key-that-is-long-enough-0123456789"
TEAMS = [
    TeamSpec(name="Alpha", qualities=[0.6, 0.9]),  # the latest counts
    TeamSpec(name="Bravo", qualities=[0.8]),
    TeamSpec(name="Organisers", qualities=[0.95], affiliated=True),
]
CENTRES = {"A": 2, "B": 1}
PARADIGMS = ("visible", "combined")


@dataclass
class Env:
    """The CLI's database, a closed and an open final phase, and the people."""

    url: str
    engine: Engine
    closed: int
    open: int
    organiser: str
    participant: str

    def session(self) -> Session:
        return make_session_factory(self.engine)()


@pytest.fixture
def env(
    committing_postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Env]:
    monkeypatch.setenv("PODIUM_DATABASE_URL", committing_postgres_url)
    monkeypatch.setenv("PODIUM_DATA_ROOT", str(tmp_path / "data"))
    get_settings.cache_clear()
    cache.BOARDS.clear()
    engine = make_engine(committing_postgres_url)
    now = datetime.now(UTC)
    with make_session_factory(engine).begin() as session:
        kwargs: dict[str, Any] = {
            "teams": TEAMS,
            "centres": CENTRES,
            "paradigms": PARADIGMS,
            "kind": PhaseKind.FINAL,
            "visibility": LeaderboardVisibility.HIDDEN_UNTIL_CLOSE,
        }
        closed = seed_phase(session, closes_at=now - timedelta(hours=1), **kwargs)
        still_open = seed_phase(session, **kwargs)
        bravo = closed.submissions["Bravo"][0]
        bravo.status = SubmissionStatus.FAILED
        bravo.failure_class = "timeout"
        bravo.attempt = 2
        env = Env(
            url=committing_postgres_url,
            engine=engine,
            closed=closed.phase.id,
            open=still_open.phase.id,
            organiser=make_user(session, role=Role.ORGANISER).email,
            participant=make_user(session).email,
        )
    yield env
    engine.dispose()
    cache.BOARDS.clear()
    get_settings.cache_clear()


def _listed(env: Env, *args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(
        app, ["submissions", "list", "--phase", str(env.closed), "--json", *args]
    )
    assert result.exit_code == 0, result.output
    rows: list[dict[str, object]] = json.loads(result.stdout)
    return rows


def test_submissions_list_shows_every_team_and_filters(env: Env) -> None:
    table = CliRunner().invoke(app, ["submissions", "list", "--phase", str(env.closed)])
    assert table.exit_code == 0, table.output
    header, *lines = table.stdout.splitlines()
    assert header.split()[:5] == ["ID", "TEAM", "STATUS", "FAILURE", "TRY"]
    assert [line.split()[1] for line in lines] == ["Alpha", "Alpha", "Bravo", "Organisers"]
    assert lines[2].split()[2:5] == ["failed", "timeout", "2"]
    everything = _listed(env)
    assert [(r["team"], r["status"]) for r in everything] == [
        ("Alpha", "succeeded"),
        ("Alpha", "succeeded"),
        ("Bravo", "failed"),
        ("Organisers", "succeeded"),
    ]
    assert everything[0]["finished_at"] is not None
    failed = _listed(env, "--status", "failed")
    assert [(r["team"], r["failure_class"], r["attempt"]) for r in failed] == [
        ("Bravo", "timeout", 2)
    ]
    assert len(_listed(env, "--status", "failed", "--status", "succeeded")) == 4
    assert [r["team"] for r in _listed(env, "--team", "Alpha")] == ["Alpha", "Alpha"]
    assert _listed(env, "--team", "Alpha", "--status", "failed") == []


@pytest.mark.parametrize(
    ("args", "code", "words"),
    [
        (["--team", "Nobody"], 1, "no team 'Nobody' in challenge"),
        (["--status", "exploded"], 2, "Invalid value for '--status'"),
    ],
    ids=["unknown-team", "unknown-status"],
)
def test_submissions_list_refuses_bad_filters(
    env: Env, args: list[str], code: int, words: str
) -> None:
    result = CliRunner().invoke(app, ["submissions", "list", "--phase", str(env.closed), *args])
    assert result.exit_code == code
    assert words in result.output


def test_submissions_list_refuses_an_unknown_phase(env: Env) -> None:
    result = CliRunner().invoke(app, ["submissions", "list", "--phase", "999999"])
    assert result.exit_code == 1
    assert "error: phase 999999 does not exist" in result.stderr


def _publications(env: Env, phase_id: int) -> list[AuditEvent]:
    with env.session() as session:
        stmt = select(AuditEvent).where(
            AuditEvent.action == "leaderboard.publish", AuditEvent.target_id == str(phase_id)
        )
        return list(session.scalars(stmt))


def test_publish_is_refused_while_open_and_audited_once_closed(env: Env) -> None:
    runner = CliRunner()
    still_open = runner.invoke(app, ["phase", "publish", str(env.open), "--as", env.organiser])
    assert still_open.exit_code == 1
    assert "the phase is still open" in still_open.stderr
    refused = runner.invoke(app, ["phase", "publish", str(env.closed), "--as", env.participant])
    assert refused.exit_code == 1
    assert f"no organiser {env.participant}" in refused.stderr
    unknown = runner.invoke(app, ["phase", "publish", "999999", "--as", env.organiser])
    assert unknown.exit_code == 1
    assert "phase 999999 does not exist" in unknown.stderr
    nobody = runner.invoke(app, ["phase", "publish", str(env.closed)])
    assert nobody.exit_code == 2
    assert "Missing option '--as'" in nobody.output
    assert _publications(env, env.closed) == []
    assert _publications(env, env.open) == []
    published = runner.invoke(app, ["phase", "publish", str(env.closed), "--as", env.organiser])
    assert published.exit_code == 0, published.output
    assert "the leaderboard is now public" in published.stdout
    again = runner.invoke(app, ["phase", "publish", str(env.closed), "--as", env.organiser])
    assert "already published" in again.stdout
    (event,) = _publications(env, env.closed)
    assert event.actor_id is not None
    assert event.after == {"leaderboard_visibility": "published"}
    with env.session() as session:
        phase = session.get(Phase, env.closed)
        assert phase is not None
        assert phase.leaderboard_visibility == LeaderboardVisibility.PUBLISHED


def _api_csv(env: Env, tmp_path: Path, view: str) -> str:
    settings = Settings(environment="test", secret_key=SECRET, data_root=tmp_path / "api")
    factory = make_session_factory(env.engine)
    with factory.begin() as session:
        user = make_user(session, role=Role.ORGANISER)
        token = issue_token(session, user=user, name="t", secret_key=SECRET, ttl_days=1)[1]
    api = create_app(
        settings, session_factory=factory, job_queue=RecordingJobQueue(), configure_logs=False
    )
    cache.BOARDS.clear()  # the API must rank again, not serve the CLI's cached board
    with TestClient(api) as client:
        response = client.get(
            f"/api/v1/phases/{env.closed}/leaderboard.csv",
            params={"view": view},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    text: str = response.text
    return text


@pytest.mark.parametrize(("view", "teams"), [("organisers", 2), ("public", 1)])
def test_export_writes_the_apis_csv_and_every_case_score(
    env: Env, tmp_path: Path, view: str, teams: int
) -> None:
    out = tmp_path / "export"
    result = CliRunner().invoke(
        app,
        [
            "phase",
            "export",
            str(env.closed),
            "--out",
            str(out),
            "--view",
            view,
            "--as",
            env.organiser,
        ],
    )
    assert result.exit_code == 0, result.output
    board = (out / "leaderboard.csv").read_text()
    assert board == _api_csv(env, tmp_path, view)
    assert len(board.splitlines()) == 1 + teams
    rows = list(csv.DictReader(io.StringIO((out / "case-scores.csv").read_text())))
    document = json.loads((out / "case-scores.json").read_text())
    # Bravo's only submission failed: succeeded ones are Alpha's two (+ the organisers').
    submissions = 3 if view == "organisers" else 2
    cases = sum(CENTRES.values())
    assert len(rows) == len(document["rows"]) == submissions * cases * len(PARADIGMS)
    assert {r["team"] for r in rows} == ({"Alpha", "Organisers"} if teams == 2 else {"Alpha"})
    alpha = sorted({int(r["submission_id"]) for r in rows if r["team"] == "Alpha"})
    counted = {(int(r["submission_id"]), r["counted"]) for r in rows if r["team"] == "Alpha"}
    assert counted == {(alpha[0], "False"), (alpha[1], "True")}  # only the latest is ranked
    for column in ("case", "centre", "paradigm", "status", "dice", "tp_50", "lesion_sum_assd"):
        assert column in rows[0]
    assert {"lesions", "lesion_sums", "errors"} <= set(document["rows"][0])
    assert document["view"] == view
    assert document["phase"]["id"] == env.closed
    with env.session() as session:
        stored = {(s.evaluation_id, s.paradigm, s.dice) for s in session.scalars(select(CaseScore))}
    exported = {(int(r["evaluation_id"]), r["paradigm"], float(r["dice"])) for r in rows}
    assert exported <= stored


@pytest.mark.parametrize(
    ("phase", "who", "words"),
    [(999999, "organiser", "phase 999999 does not exist"), (None, "participant", "no organiser")],
    ids=["unknown-phase", "not-an-organiser"],
)
def test_export_refuses_an_unknown_phase_or_a_participant(
    env: Env, tmp_path: Path, phase: int | None, who: str, words: str
) -> None:
    out = tmp_path / "export"
    email = env.organiser if who == "organiser" else env.participant
    result = CliRunner().invoke(
        app, ["phase", "export", str(phase or env.closed), "--out", str(out), "--as", email]
    )
    assert result.exit_code == 1
    assert words in result.stderr
    assert not out.exists()
