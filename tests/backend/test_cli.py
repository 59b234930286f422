"""``podium``: migrate, create users and tokens, apply a challenge file with its files (SQLite)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from backend.challenges.models import Case, LabelSet
from backend.cli import app
from backend.config import Settings, get_settings
from backend.db import make_engine, make_session_factory

CHALLENGE = """
slug: cli-demo
title: CLI demo
centres: [{code: a, name: A}]
tasks:
  - slug: t1
    title: Task 1
    input_phase: venous
    paradigms: [venous]
    labels: {venous: labels}
    phases:
      - slug: val
        title: Validation
        kind: validation
        submission_limit: 3
        opens_at: "2024-01-01T00:00:00Z"
        closes_at: "2099-01-01T00:00:00Z"
        cases: [{key: c1, centre: a, inputs: [images/c1.nii.gz]}]
        sample_cases: [{key: s1, centre: a, inputs: [images/s1.nii.gz]}]
"""


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "data"
    monkeypatch.setenv("PODIUM_DATA_ROOT", str(root))
    monkeypatch.delenv("PODIUM_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield root
    get_settings.cache_clear()


def _challenge_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "challenge"
    (folder / "images").mkdir(parents=True)
    (folder / "labels").mkdir()
    (folder / "images" / "c1.nii.gz").write_bytes(b"image c1")
    (folder / "images" / "s1.nii.gz").write_bytes(b"image s1")
    (folder / "labels" / "c1.nii.gz").write_bytes(b"label c1")
    (folder / "challenge.yaml").write_text(CHALLENGE)
    return folder


def test_cli_end_to_end(env: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    created = runner.invoke(
        app,
        [
            "user",
            "create",
            "--email",
            "org@example.org",
            "--name",
            "Org",
            "--role",
            "organiser",
            "--password",
            "a long password",
        ],
    )
    assert created.exit_code == 0, created.output
    token = runner.invoke(app, ["user", "token", "--email", "org@example.org"])
    assert token.output.strip().startswith("pod_")
    folder = _challenge_dir(tmp_path)
    yaml_file = str(folder / "challenge.yaml")
    first = runner.invoke(app, ["challenge", "apply", yaml_file, "--as", "org@example.org"])
    assert first.exit_code == 0, first.output
    assert "inputs updated: 2" in first.output
    second = runner.invoke(app, ["challenge", "apply", yaml_file])
    assert "inputs updated: 0" in second.output
    assert "unchanged: t1/venous v1" in second.output
    (folder / "labels" / "c1.nii.gz").write_bytes(b"label c1, corrected")
    third = runner.invoke(app, ["challenge", "apply", yaml_file])
    assert "created: t1/venous v2" in third.output
    factory = make_session_factory(make_engine(get_settings().database_url))
    with factory() as session:
        cases = session.scalars(select(Case).order_by(Case.case_key)).all()
        assert all(c.input_sha256 and (env / c.input_paths[0]).is_file() for c in cases)
        versions = session.scalars(select(LabelSet).order_by(LabelSet.version)).all()
        assert [(v.version, v.active) for v in versions] == [(1, False), (2, True)]
        assert (env / versions[0].storage_path / "c1.nii.gz").read_bytes() == b"label c1"


def test_cli_reports_bad_files_without_a_traceback(env: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(app, ["db", "upgrade"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("slug: x\ntitle: X\ntasks: [{slug: t}]\n")
    result = runner.invoke(app, ["challenge", "apply", str(bad)])
    assert result.exit_code == 1
    assert "tasks.0.title" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_placeholder_secret_is_refused_outside_development(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with pytest.raises(ValueError, match="PODIUM_SECRET_KEY is a placeholder"):
        Settings(environment="production", secret_key="changethis")
    assert Settings(environment="development").secret_key == "changethis"
    monkeypatch.setenv("PODIUM_MAX_UPLOAD_BYTES", "1234")
    assert Settings().max_upload_bytes == 1234
    assert Settings(data_root=Path("/srv/p")).database_url == "sqlite:////srv/p/podium.sqlite3"
