"""``podium phase upload-inputs`` and ``podium task upload-labels`` on real PostgreSQL.

Each command copies the archive to staging with a progress bar, unpacks it with
the API's checks and stores it through the same service in one committed
transaction, audited under the ``--as`` organiser; bad input ends with a clear
``error:`` and a non-zero status, and nothing is kept.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from backend.audit.models import AuditEvent
from backend.challenges.models import Case, LabelSet
from backend.cli import app
from backend.config import get_settings
from backend.db import make_engine, make_session_factory
from backend.enums import Role
from tests.backend.conftest import files_under
from tests.backend.factories import make_case, make_phase, make_user

pytestmark = pytest.mark.postgres


@dataclass
class Env:
    """The CLI's database and data root, and the seeded phase, task and people."""

    engine: Engine
    data_root: Path
    phase_id: int
    task_id: int
    organiser: str
    participant: str

    def session(self) -> Session:
        return make_session_factory(self.engine)()


@pytest.fixture
def env(
    committing_postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Env]:
    data_root = tmp_path / "data"
    monkeypatch.setenv("PODIUM_DATABASE_URL", committing_postgres_url)
    monkeypatch.setenv("PODIUM_DATA_ROOT", str(data_root))
    get_settings.cache_clear()
    engine = make_engine(committing_postgres_url)
    with make_session_factory(engine).begin() as session:
        phase = make_phase(session)
        for key in ("c1", "c2"):
            make_case(session, phase=phase, key=key)
        make_case(session, phase=phase, key="s1", is_sample=True)
        env = Env(
            engine=engine,
            data_root=data_root,
            phase_id=phase.id,
            task_id=phase.task_id,
            organiser=make_user(session, role=Role.ORGANISER).email,
            participant=make_user(session).email,
        )
    yield env
    engine.dispose()
    get_settings.cache_clear()


def _archive(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _events(env: Env, action: str) -> list[AuditEvent]:
    with env.session() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


INPUTS = {"c1.nii.gz": b"input c1", "c2.nii.gz": b"input c2", "s1.nii.gz": b"input s1"}


def test_upload_inputs_stores_every_case_once_audited(env: Env, tmp_path: Path) -> None:
    archive = _archive(tmp_path / "inputs.tar.gz", INPUTS)
    runner = CliRunner()
    args = ["phase", "upload-inputs", str(env.phase_id), str(archive), "--as", env.organiser]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "3 of 3 case input(s) updated: c1, c2, s1" in first.stdout
    assert "inputs.tar.gz" in first.stderr  # the progress bar's label
    with env.session() as session:
        cases = {c.case_key: c for c in session.scalars(select(Case))}
    assert {k: (env.data_root / c.input_paths[0]).read_bytes() for k, c in cases.items()} == {
        "c1": b"input c1",
        "c2": b"input c2",
        "s1": b"input s1",
    }
    events = _events(env, "case.inputs")
    assert len(events) == 3
    assert {e.actor_id for e in events} != {None}
    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "0 of 3 case input(s) updated (all unchanged)" in second.stdout
    assert len(_events(env, "case.inputs")) == 3
    assert files_under(env.data_root / "staging") == []


@pytest.mark.parametrize(
    ("who", "phase", "files", "words"),
    [
        ("participant", None, INPUTS, "no organiser"),
        ("organiser", 999999, INPUTS, "phase 999999 does not exist"),
        ("organiser", None, {**INPUTS, "c9.nii.gz": b"x"}, "does not have: c9"),
        ("organiser", None, {"c1.nii.gz": b"x"}, "no file for cases c2, s1"),
        ("organiser", None, {"c1.txt": b"x"}, "not in a format the scorer reads"),
    ],
    ids=["not-an-organiser", "unknown-phase", "unknown-case", "missing-case", "not-an-image"],
)
def test_upload_inputs_refuses_bad_input_and_keeps_nothing(
    env: Env, tmp_path: Path, who: str, phase: int | None, files: dict[str, bytes], words: str
) -> None:
    archive = _archive(tmp_path / "inputs.tar.gz", files)
    email = env.organiser if who == "organiser" else env.participant
    phase_id = str(phase or env.phase_id)
    result = CliRunner().invoke(
        app, ["phase", "upload-inputs", phase_id, str(archive), "--as", email]
    )
    assert result.exit_code == 1
    assert "error:" in result.stderr
    assert words in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert _events(env, "case.inputs") == []
    assert files_under(env.data_root) == []


def test_upload_inputs_names_a_missing_archive(env: Env, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.tar.gz"
    result = CliRunner().invoke(app, ["phase", "upload-inputs", str(env.phase_id), str(missing)])
    assert result.exit_code != 0
    assert "does not exist" in result.output


def test_upload_labels_adds_a_version_and_reactivates_identical_content(
    env: Env, tmp_path: Path
) -> None:
    v1 = _archive(tmp_path / "v1.tar.gz", {"c1.nii.gz": b"label c1", "c2.nii.gz": b"label c2"})
    v2 = _archive(tmp_path / "v2.tar.gz", {"c1.nii.gz": b"label c1", "c2.nii.gz": b"fixed c2"})
    runner = CliRunner()

    def upload(archive: Path) -> str:
        args = ["task", "upload-labels", str(env.task_id), "lesion", str(archive)]
        result = runner.invoke(app, [*args, "--as", env.organiser])
        assert result.exit_code == 0, result.output
        return result.stdout

    assert "lesion label set v1 created: 2 file(s)" in upload(v1)
    assert "lesion label set v2 created: 2 file(s)" in upload(v2)
    assert "v1 unchanged (identical to an existing version), active" in upload(v1)
    with env.session() as session:
        stored = session.scalars(select(LabelSet).order_by(LabelSet.version)).all()
        assert [(s.version, s.active) for s in stored] == [(1, True), (2, False)]
        assert (env.data_root / stored[1].storage_path / "c2.nii.gz").read_bytes() == b"fixed c2"
    activations = _events(env, "label_set.activate")
    assert [e.after["active_version"] for e in activations if e.after] == [1, 2, 1]
    assert all(e.actor_id is not None for e in activations)


@pytest.mark.parametrize(
    ("task", "paradigm", "words"),
    [
        (None, "venous", "has no paradigm 'venous' (it has lesion)"),
        (999999, "lesion", "task 999999 does not exist"),
    ],
    ids=["unknown-paradigm", "unknown-task"],
)
def test_upload_labels_refuses_an_unknown_task_or_paradigm(
    env: Env, tmp_path: Path, task: int | None, paradigm: str, words: str
) -> None:
    archive = _archive(tmp_path / "l.tar.gz", {"c1.nii.gz": b"l1", "c2.nii.gz": b"l2"})
    result = CliRunner().invoke(
        app, ["task", "upload-labels", str(task or env.task_id), paradigm, str(archive)]
    )
    assert result.exit_code == 1
    assert words in result.stderr
    with env.session() as session:
        assert session.scalars(select(LabelSet)).all() == []
    assert _events(env, "label_set.activate") == []


def test_challenge_apply_as_a_participant_is_refused(env: Env, tmp_path: Path) -> None:
    spec = tmp_path / "challenge.yaml"
    spec.write_text("slug: refused\ntitle: Refused\ntasks: []\n")
    result = CliRunner().invoke(app, ["challenge", "apply", str(spec), "--as", env.participant])
    assert result.exit_code == 1
    assert f"error: no organiser {env.participant}" in result.stderr
    assert _events(env, "challenge.apply") == []
    applied = CliRunner().invoke(app, ["challenge", "apply", str(spec), "--as", env.organiser])
    assert applied.exit_code == 0, applied.output
    (event,) = _events(env, "challenge.apply")
    assert event.actor_id is not None
