"""Reference entries, write-ups, label activation and centre comparisons through the API
(real PostgreSQL; jobs recorded by name)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import SimpleITK as sitk
from fastapi.testclient import TestClient
from scipy import stats
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEvent
from backend.config import Settings
from backend.enums import LeaderboardVisibility, PhaseKind, Role
from backend.jobs import Job, RecordingJobQueue
from backend.leaderboard import cache
from backend.submissions.models import Submission
from backend.writeups.models import Writeup
from backend.writeups.pdf import minimal_pdf
from tests.backend.conftest import World
from tests.backend.factories import make_case, make_user
from tests.backend.leaderboard_seed import TeamSpec, seed_phase
from tests.backend.tarballs import image_tarball, tar_gz
from tests.backend.test_leaderboard_api import _token

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.BOARDS.clear()
    cache.RESULTS.clear()
    yield
    cache.BOARDS.clear()


def _nifti(tmp_path: Path, name: str, value: int = 1) -> bytes:
    mask = np.zeros((4, 5, 6), dtype=np.uint8)
    mask[1:3, 1:3, 1:3] = value
    path = tmp_path / name
    sitk.WriteImage(sitk.GetImageFromArray(mask), str(path))
    return path.read_bytes()


def _actions(session: Session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_organisers_add_reference_predictions_for_the_worker_to_score(
    client: TestClient,
    world: World,
    db_session: Session,
    jobs: RecordingJobQueue,
    settings: Settings,
    tmp_path: Path,
) -> None:
    for key in ("c1", "c2"):
        make_case(db_session, phase=world.phase, key=key)
    db_session.commit()
    archive = tar_gz([(f"{k}.nii.gz", _nifti(tmp_path, f"{k}.nii.gz")) for k in ("c1", "c2")])
    url = f"/api/v1/phases/{world.phase.id}/references/predictions"
    params = {"name": "Second reader", "kind": "human", "link": "https://example.org/reader"}
    assert client.post(url, params=params, content=archive).status_code == 401
    r = client.post(url, params=params, content=archive, headers=world.headers("team_a"))
    assert r.status_code == 403
    r = client.post(url, params=params, content=archive, headers=world.headers("organiser"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["kind"], body["source"], body["status"]) == ("human", "predictions", "queued")
    sub = db_session.get(Submission, body["submission_id"])
    assert sub is not None
    assert sub.team_id is None
    assert sub.slot is None
    assert sub.image_digest == ""
    stored = sorted(p.name for p in (settings.data_root / sub.tarball_path).iterdir())
    assert stored == ["c1.nii.gz", "c2.nii.gz"]
    # Sent after the commit by name, like any evaluation: the worker sees no image and scores.
    assert jobs.sent == [Job(task_name="evaluate_submission", args=(sub.id,), queue="evaluation")]
    # Organisers follow it like any submission; no team sees it.
    seen = client.get(f"/api/v1/submissions/{sub.id}", headers=world.headers("organiser"))
    assert seen.status_code == 200, seen.text
    assert seen.json()["team_id"] is None
    r = client.get(f"/api/v1/submissions/{sub.id}", headers=world.headers("team_a"))
    assert r.status_code == 404
    (event,) = _actions(db_session, "reference.add")
    assert event.after["kind"] == "human"  # type: ignore[index]

    refused = {
        "same name": (params, archive, 409, "already has a reference entry"),
        "unknown case": (
            {**params, "name": "Other"},
            tar_gz([("zz.nii.gz", _nifti(tmp_path, "zz.nii.gz"))]),
            422,
            "zz",
        ),
        "kind": ({**params, "name": "Other", "kind": "oracle"}, archive, 422, "kind"),
        "link": ({**params, "name": "Other", "link": "javascript:alert(1)"}, archive, 422, "link"),
    }
    for why, (query, body_bytes, code, words) in refused.items():
        r = client.post(url, params=query, content=body_bytes, headers=world.headers("organiser"))
        assert r.status_code == code, (why, r.text)
        assert words in r.text, why
    assert len(jobs.sent) == 1

    listed = client.get(
        f"/api/v1/phases/{world.phase.id}/references", headers=world.headers("organiser")
    ).json()
    assert [(x["name"], x["status"]) for x in listed] == [("Second reader", "queued")]
    r = client.delete(f"/api/v1/references/{body['id']}", headers=world.headers("team_a"))
    assert r.status_code == 403
    r = client.delete(f"/api/v1/references/{body['id']}", headers=world.headers("organiser"))
    assert r.status_code == 200, r.text
    db_session.expire_all()
    assert db_session.get(Submission, body["submission_id"]) is None
    assert len(_actions(db_session, "reference.remove")) == 1


def test_a_container_reference_is_evaluated_like_a_teams(
    client: TestClient, world: World, db_session: Session, jobs: RecordingJobQueue
) -> None:
    r = client.post(
        f"/api/v1/phases/{world.phase.id}/references/container",
        params={"name": "PASTA", "kind": "off-the-shelf", "link": "https://example.org/pasta"},
        content=image_tarball(gzip_it=True),
        headers=world.headers("organiser"),
    )
    assert r.status_code == 201, r.text
    sub = db_session.get(Submission, r.json()["submission_id"])
    assert sub is not None
    assert sub.tarball_path.startswith(f"references/phase-{world.phase.id}/")
    assert sub.tarball_path.endswith(".tar.gz")
    assert sub.image_digest.startswith("sha256:")
    assert [j.task_name for j in jobs.sent] == ["evaluate_submission"]


def test_writeups_are_checked_capped_and_required_where_the_phase_says(
    client: TestClient, world: World, db_session: Session, settings: Settings
) -> None:
    phase = world.phase
    base = f"/api/v1/phases/{phase.id}"
    r = client.put(
        f"{base}/writeup/method", json={"name": "nnU-Net + CRF"}, headers=world.headers("team_a")
    )
    assert r.status_code == 200, r.text
    assert r.json()["method_name"] == "nnU-Net + CRF"
    r = client.put(f"{base}/writeup.pdf", content=b"GIF89a....", headers=world.headers("team_a"))
    assert r.status_code == 422
    assert "PDF header" in r.json()["message"]
    truncated = minimal_pdf()[:-40]
    r = client.put(f"{base}/writeup.pdf", content=truncated, headers=world.headers("team_a"))
    assert r.status_code == 422
    assert "truncated" in r.json()["message"]
    pdf = minimal_pdf("Team A: method")
    r = client.put(f"{base}/writeup.pdf", content=pdf, headers=world.headers("team_a"))
    assert r.status_code == 200, r.text
    assert r.json()["pdf_size"] == len(pdf)
    assert r.json()["pdf_url"] == f"{base}/writeups/{world.team_a.id}.pdf"
    assert len(_actions(db_session, "writeup.upload")) == 1

    phase.writeup = {"required": True, "max_mb": 1}
    db_session.commit()
    big = minimal_pdf() + b"%" + b"x" * (1024 * 1024) + b"\n"
    r = client.put(f"{base}/writeup.pdf", content=big, headers=world.headers("team_b"))
    assert r.status_code == 413
    # Team B has no write-up: its submission is refused before any byte is stored.
    r = client.post(f"{base}/submissions", content=image_tarball(), headers=world.headers("team_b"))
    assert r.status_code == 409
    assert "requires a write-up" in r.json()["message"]
    r = client.post(f"{base}/submissions", content=image_tarball(), headers=world.headers("team_a"))
    assert r.status_code == 201, r.text

    listed = client.get(f"{base}/writeups", headers=world.headers("organiser")).json()
    assert {(w["team"], w["pdf_url"] is not None) for w in listed} == {
        (world.team_a.name, True),
        (world.team_b.name, False),
    }
    assert client.get(f"{base}/writeups", headers=world.headers("team_a")).status_code == 403

    # Who reads the PDF: a live validation board is public, so everyone; a final phase's
    # write-ups only its team and the organisers until the board is published.
    pdf_url = f"{base}/writeups/{world.team_a.id}.pdf"
    r = client.get(pdf_url)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content == pdf
    phase.kind = PhaseKind.FINAL
    phase.leaderboard_visibility = LeaderboardVisibility.HIDDEN_UNTIL_CLOSE
    db_session.commit()
    assert client.get(pdf_url).status_code == 404
    assert client.get(pdf_url, headers=world.headers("team_b")).status_code == 404
    assert client.get(pdf_url, headers=world.headers("team_a")).status_code == 200
    assert client.get(pdf_url, headers=world.headers("organiser")).status_code == 200
    phase.leaderboard_visibility = LeaderboardVisibility.PUBLISHED
    db_session.commit()
    assert client.get(pdf_url).status_code == 200


def test_board_rows_link_method_and_writeup_once_published(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    seeded = seed_phase(
        db_session,
        teams=[TeamSpec(name="Alpha", qualities=[0.9]), TeamSpec(name="Bravo", qualities=[0.6])],
        centres={"A": 3},
        kind=PhaseKind.FINAL,
        visibility=LeaderboardVisibility.HIDDEN_UNTIL_CLOSE,
        closes_at=datetime.now(UTC) - timedelta(hours=1),
    )
    db_session.add(
        Writeup(
            team_id=seeded.teams["Alpha"].id,
            phase_id=seeded.phase.id,
            method_name="Alpha-Net",
            method_link="https://example.org/alpha",
            pdf_path="writeups/alpha.pdf",
            pdf_sha256="0" * 64,
            pdf_size=10,
        )
    )
    organiser = _token(db_session, settings, make_user(db_session, role=Role.ORGANISER))
    db_session.commit()
    url = f"/api/v1/phases/{seeded.phase.id}/leaderboard"
    assert client.get(url).json()["rows"] == []  # hidden
    inside = client.get(url, params={"view": "organisers"}, headers=organiser).json()
    alpha = inside["rows"][0]
    assert alpha["method"]["name"] == "Alpha-Net"
    assert alpha["method"]["writeup_url"].endswith(f"/writeups/{seeded.teams['Alpha'].id}.pdf")
    assert inside["rows"][1]["method"] is None
    r = client.post(f"/api/v1/phases/{seeded.phase.id}/leaderboard/publish", headers=organiser)
    assert r.status_code == 200, r.text
    public = client.get(url).json()
    assert public["rows"][0]["method"] == alpha["method"]


def _label_archive(tmp_path: Path, keys: list[str], value: int) -> bytes:
    return tar_gz([(f"{k}.nii.gz", _nifti(tmp_path, f"{k}-{value}.nii.gz", value)) for k in keys])


def test_activating_labels_rescores_the_phases_it_affects(
    client: TestClient,
    db_session: Session,
    settings: Settings,
    jobs: RecordingJobQueue,
    tmp_path: Path,
) -> None:
    seeded = seed_phase(
        db_session,
        teams=[TeamSpec(name="Alpha", qualities=[0.9]), TeamSpec(name="Bravo", qualities=[0.6])],
        centres={"A": 2},
        label_versions={"venous": 1},
    )
    organiser = _token(db_session, settings, make_user(db_session, role=Role.ORGANISER))
    db_session.commit()
    keys = ["A_000", "A_001"]
    url = f"/api/v1/tasks/{seeded.task.id}/label-sets/venous"
    board_url = f"/api/v1/phases/{seeded.phase.id}/leaderboard"
    before = client.get(board_url).json()
    assert before["label_versions"]["rescoring"] is True  # no label set is active yet

    r = client.post(url, content=_label_archive(tmp_path, keys, 1), headers=organiser)
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1
    rescore = Job(task_name="rescore_phase", args=(seeded.phase.id,), queue="evaluation")
    assert jobs.sent == [rescore]
    (event,) = _actions(db_session, "phase.rescore")
    assert event.after["label_set_versions"] == {"venous": 1}  # type: ignore[index]
    board = client.get(board_url).json()
    assert board["label_versions"]["active"] == {"venous": 1}
    assert board["label_versions"]["rescoring"] is False  # the seeded scores are v1 already

    r = client.post(url, content=_label_archive(tmp_path, keys, 1), headers=organiser)
    assert r.json()["created"] is False
    assert jobs.sent == [rescore]  # nothing newly activated, nothing sent
    r = client.post(url, content=_label_archive(tmp_path, keys, 3), headers=organiser)
    assert r.json()["version"] == 2
    assert jobs.sent == [rescore, rescore]
    board = client.get(board_url).json()
    assert board["label_versions"] == {
        "ranked": {"venous": 1},
        "active": {"venous": 2},
        "rescoring": True,
        "waiting": [],
    }


def test_centre_comparisons_for_organisers(
    client: TestClient, db_session: Session, settings: Settings
) -> None:
    seeded = seed_phase(
        db_session,
        teams=[TeamSpec(name=f"T{i}", qualities=[0.5 + 0.08 * i]) for i in range(5)],
        centres={"A": 3, "B": 3},
        noise=0.1,
    )
    organiser = _token(db_session, settings, make_user(db_session, role=Role.ORGANISER))
    db_session.commit()
    url = f"/api/v1/phases/{seeded.phase.id}/centre-comparisons"
    assert client.get(url).status_code == 401
    body: dict[str, Any] = client.get(url, headers=organiser).json()
    assert body["teams"] == 5
    assert len(body["comparisons"]) == 11  # one centre pair, eleven metrics
    dice = next(c for c in body["comparisons"] if c["metric"] == "lesion_dice_per_case")
    centre_board = {
        c: client.get(
            f"/api/v1/phases/{seeded.phase.id}/leaderboard",
            params={"centre": c, "view": "organisers"},
            headers=organiser,
        ).json()
        for c in ("A", "B")
    }
    values = {
        c: [r["cells"]["venous:lesion_dice_per_case"]["value"] for r in b["rows"]]
        for c, b in centre_board.items()
    }
    expected = stats.mannwhitneyu(values["A"], values["B"], method="exact").pvalue
    assert dice["p"] == pytest.approx(expected)
    ps = [c["p"] for c in body["comparisons"]]
    adjusted = stats.false_discovery_control(ps)
    assert [c["p_adjusted"] for c in body["comparisons"]] == pytest.approx(list(adjusted))


def test_a_live_validation_board_links_the_writeups_everyone_may_read(
    client: TestClient, db_session: Session
) -> None:
    # The link follows the PDF's own rule: a public board's readers may open it.
    seeded = seed_phase(
        db_session,
        teams=[TeamSpec(name="Alpha", qualities=[0.9]), TeamSpec(name="Bravo", qualities=[0.6])],
        centres={"A": 3},
        kind=PhaseKind.VALIDATION,
        visibility=LeaderboardVisibility.LIVE,
    )
    db_session.add(
        Writeup(
            team_id=seeded.teams["Alpha"].id,
            phase_id=seeded.phase.id,
            method_name="Alpha-Net",
            pdf_path="writeups/alpha.pdf",
            pdf_sha256="0" * 64,
            pdf_size=10,
        )
    )
    db_session.commit()
    rows = client.get(f"/api/v1/phases/{seeded.phase.id}/leaderboard").json()["rows"]
    alpha = next(r for r in rows if r["team"] == "Alpha")
    assert alpha["method"]["writeup_url"].endswith(f"/writeups/{seeded.teams['Alpha'].id}.pdf")
