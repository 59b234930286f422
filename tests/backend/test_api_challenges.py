"""Organisers: YAML apply (idempotent, audited), input and label archives (safe, versioned)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEvent
from backend.config import Settings
from tests.backend.conftest import World, files_under
from tests.backend.factories import make_case
from tests.backend.tarballs import tar_gz, zip_bytes

pytestmark = pytest.mark.postgres

YAML = """
slug: liver
title: Liver lesions
centres: [{code: a, name: Centre A}, {code: b, name: Centre B}]
tasks:
  - slug: task1
    title: Task 1
    input_phase: venous
    paradigms: [venous]
    metric_sets: {venous: [lesion_dice_per_case]}
    phases:
      - slug: validation
        title: Validation
        kind: validation
        submission_limit: 3
        opens_at: "2026-01-01T00:00:00Z"
        closes_at: "2027-01-01T00:00:00Z"
        leaderboard_visibility: hidden_until_close
        cases: [{key: c1, centre: a}, {key: c2, centre: b}]
        sample_cases: [{key: s1, centre: a}]
"""


def _apply(client: TestClient, world: World, text: str):
    return client.put(
        "/api/v1/challenges",
        content=text,
        headers={**world.headers("organiser"), "Content-Type": "application/yaml"},
    )


def test_apply_is_idempotent_and_audited(
    client: TestClient, world: World, db_session: Session
) -> None:
    first = _apply(client, world, YAML)
    assert first.status_code == 200, first.text
    phase = first.json()["tasks"][0]["phases"][0]
    assert phase["leaderboard_visibility"] == "hidden_until_close"
    assert _apply(client, world, YAML).json() == first.json()
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "challenge.apply")
    ).all()
    assert len(events) == 1  # the second, identical apply changed nothing
    assert events[0].before is None
    assert events[0].actor_id == world.users["organiser"].id
    changed = _apply(client, world, YAML.replace("submission_limit: 3", "submission_limit: 5"))
    assert changed.json()["tasks"][0]["phases"][0]["submission_limit"] == 5
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "challenge.apply").order_by(AuditEvent.id)
    ).all()
    assert len(events) == 2
    assert events[1].before["tasks"][0]["phases"][0]["submission_limit"] == 3  # type: ignore[index]
    assert events[1].after["tasks"][0]["phases"][0]["submission_limit"] == 5  # type: ignore[index]
    cases = client.get(
        f"/api/v1/phases/{phase['id']}/cases", headers=world.headers("organiser")
    ).json()
    assert sorted((c["case_key"], c["is_sample"]) for c in cases) == [
        ("c1", False),
        ("c2", False),
        ("s1", True),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("slug: x\ntitle: X\ntasks: [{slug: t}]", "tasks.0.title"),
        ("- not a mapping", "must be a YAML mapping"),
        ("slug: x\ntitle: X\nunknown_key: 1", "unknown_key"),
        (YAML.replace("centre: b", "centre: z"), "centre 'z'"),
        (YAML.replace('"2027-01-01T00:00:00Z"', '"2025-01-01T00:00:00Z"'), "closes_at"),
        (YAML.replace('"2026-01-01T00:00:00Z"', '"2026-01-01T00:00:00"'), "timezone"),
        ("slug: [unclosed", "not valid YAML"),
    ],
    ids=["missing field", "list", "typo", "unknown centre", "window", "naive", "syntax"],
)
def test_bad_challenge_files_get_clear_errors(
    client: TestClient, world: World, text: str, expected: str
) -> None:
    response = _apply(client, world, text)
    assert response.status_code == 422
    assert expected in response.json()["message"]


def _inputs(client: TestClient, world: World, body: bytes):
    return client.post(
        f"/api/v1/phases/{world.phase.id}/inputs", content=body, headers=world.headers("organiser")
    )


def test_inputs_are_stored_with_sha256_and_audited(
    client: TestClient, world: World, db_session: Session, settings: Settings
) -> None:
    make_case(db_session, phase=world.phase, key="c1")
    make_case(db_session, phase=world.phase, key="s1", is_sample=True)
    db_session.commit()
    body = zip_bytes([("inputs/c1.nii.gz", b"one"), ("inputs/s1.nii.gz", b"two")])
    response = _inputs(client, world, body)
    assert response.status_code == 200, response.text
    assert sorted(response.json()["cases_updated"]) == ["c1", "s1"]
    stored = files_under(settings.data_root)
    assert sorted(p.read_bytes() for p in stored) == [b"one", b"two"]
    assert all("staging" not in p.parts for p in stored)
    again = _inputs(client, world, body)
    assert again.json()["cases_updated"] == []


HOSTILE_ARCHIVES = {
    "zip slip (tar)": (tar_gz([("../../evil.nii.gz", b"x")]), "'..'"),
    "zip slip (zip)": (zip_bytes([("../evil.nii.gz", b"x")]), "'..'"),
    "absolute (tar)": (tar_gz([("/tmp/evil.nii.gz", b"x")]), "absolute"),
    "symlink (tar)": (
        tar_gz([("c1.nii.gz", b"x")], links=[("c2.nii.gz", "/etc/passwd")]),
        "is a link",
    ),
    "symlink (zip)": (
        zip_bytes([("c1.nii.gz", b"x")], links=[("c2.nii.gz", "/etc/passwd")]),
        "is a link",
    ),
    "duplicate name": (tar_gz([("c1.nii.gz", b"x"), ("c1.nii.gz", b"y")]), "appears twice"),
    "two files for a case": (
        tar_gz([("a/c1.nii.gz", b"x"), ("b/c1.nii.gz", b"y")]),
        "two files for case 'c1'",
    ),
    "missing case": (tar_gz([("c1.nii.gz", b"x")]), "no file for cases c2"),
    "unknown case": (
        tar_gz([("c1.nii.gz", b"x"), ("c2.nii.gz", b"x"), ("zz.nii.gz", b"x")]),
        "does not have: zz",
    ),
    "not an image": (tar_gz([("c1.txt", b"x")]), "not in a format the scorer reads"),
    "not an archive": (b"plain bytes, no archive" * 10, "not a readable"),
    "empty archive": (tar_gz([]), "no image files"),
}


@pytest.mark.parametrize("case", list(HOSTILE_ARCHIVES), ids=list(HOSTILE_ARCHIVES))
def test_hostile_input_archives_are_refused_and_nothing_is_left(
    client: TestClient, world: World, db_session: Session, settings: Settings, case: str
) -> None:
    make_case(db_session, phase=world.phase, key="c1")
    make_case(db_session, phase=world.phase, key="c2")
    db_session.commit()
    body, expected = HOSTILE_ARCHIVES[case]
    response = _inputs(client, world, body)
    assert response.status_code == 422, response.text
    assert expected in response.json()["message"]
    assert files_under(settings.data_root) == []


def test_label_versions_never_overwrite_and_one_is_active(
    client: TestClient, world: World, db_session: Session, settings: Settings
) -> None:
    make_case(db_session, phase=world.phase, key="c1")
    db_session.commit()
    url = f"/api/v1/tasks/{world.phase.task_id}/label-sets/lesion"
    headers = world.headers("organiser")
    v1 = client.post(url, content=tar_gz([("c1.nii.gz", b"label v1")]), headers=headers)
    assert v1.status_code == 201, v1.text
    assert (v1.json()["version"], v1.json()["created"], v1.json()["active"]) == (1, True, True)
    same = client.post(url, content=tar_gz([("x/c1.nii.gz", b"label v1")]), headers=headers)
    assert (same.json()["version"], same.json()["created"]) == (1, False)
    v2 = client.post(url, content=tar_gz([("c1.nii.gz", b"label v2")]), headers=headers)
    assert (v2.json()["version"], v2.json()["created"]) == (2, True)
    listed = client.get(f"/api/v1/tasks/{world.phase.task_id}/label-sets", headers=headers).json()
    assert [(x["version"], x["active"]) for x in listed] == [(1, False), (2, True)]
    stored = sorted(p.read_bytes() for p in files_under(settings.data_root))
    assert stored == [b"label v1", b"label v2"]  # v1 still on disk, untouched
    unknown = client.post(
        f"/api/v1/tasks/{world.phase.task_id}/label-sets/liver",
        content=tar_gz([("c1.nii.gz", b"x")]),
        headers=headers,
    )
    assert unknown.status_code == 422
    assert "no paradigm 'liver'" in unknown.json()["message"]
    actions = db_session.scalars(select(AuditEvent.action)).all()
    assert actions.count("label_set.activate") == 2


def test_sample_cases_are_public_hidden_cases_are_not(
    client: TestClient, world: World, db_session: Session
) -> None:
    make_case(db_session, phase=world.phase, key="c1")
    make_case(db_session, phase=world.phase, key="s1", is_sample=True)
    db_session.commit()
    organiser = world.headers("organiser")
    inputs = zip_bytes([("c1.nii.gz", b"hidden input"), ("s1.nii.gz", b"sample input")])
    assert _inputs(client, world, inputs).status_code == 200
    labels = tar_gz([("c1.nii.gz", b"hidden label"), ("s1.nii.gz", b"sample label")])
    url = f"/api/v1/tasks/{world.phase.task_id}/label-sets/lesion"
    assert client.post(url, content=labels, headers=organiser).status_code == 201
    base = f"/api/v1/phases/{world.phase.id}/sample-cases"
    listing = client.get(base).json()  # anonymous
    assert [s["case_key"] for s in listing] == ["s1"]
    sample = listing[0]
    downloaded = client.get(sample["input_url"])
    assert downloaded.content == b"sample input"
    assert 'filename="s1.nii.gz"' in downloaded.headers["content-disposition"]
    assert client.get(sample["label_urls"]["lesion"]).content == b"sample label"
    for hidden in (f"{base}/c1/input", f"{base}/c1/labels/lesion"):
        response = client.get(hidden)
        assert response.status_code == 404
        assert b"hidden" not in response.content
