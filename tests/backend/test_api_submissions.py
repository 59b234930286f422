"""Container uploads: hostile archives refused cleanly, windows, listing, cancel, jobs."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEvent
from backend.config import Settings
from backend.enums import SubmissionStatus
from backend.jobs import EVALUATE_SUBMISSION, RecordingJobQueue
from backend.submissions import service
from backend.submissions.models import Submission
from tests.backend.conftest import World, files_under
from tests.backend.tarballs import image_config, image_tarball, tar_gz

pytestmark = pytest.mark.postgres


def _submit(client: TestClient, world: World, body: bytes | Iterator[bytes], who: str = "team_a"):
    return client.post(
        f"/api/v1/phases/{world.phase.id}/submissions", content=body, headers=world.headers(who)
    )


def test_accepted_upload_is_stored_recorded_and_queued(
    client: TestClient,
    world: World,
    settings: Settings,
    jobs: RecordingJobQueue,
    db_session: Session,
) -> None:
    body = image_tarball(gzip_it=True)
    response = _submit(client, world, body)
    assert response.status_code == 201, response.text
    out = response.json()
    assert out["status"] == "queued"
    assert out["slot"] == 1
    assert out["image_digest"].startswith("sha256:")
    assert out["image_tags"] == ["team/model:0"]
    assert out["size_bytes"] == len(body)
    stored = files_under(settings.data_root)
    assert len(stored) == 1
    assert stored[0].name.endswith(".tar.gz")
    assert stored[0].read_bytes() == body
    assert [(j.task_name, j.args, j.queue) for j in jobs.sent] == [
        (EVALUATE_SUBMISSION, (out["id"],), settings.evaluation_queue)
    ]
    # Recorded, so the reaper sends a requeued run back to the same queue.
    assert db_session.get(Submission, out["id"]).queue == settings.evaluation_queue


_GZ = image_tarball(layer_bytes=200_000, gzip_it=True)
HOSTILE = {
    "not an archive": (
        b"this is not a tarball at all" * 100,
        "the upload is not a tar archive (plain or gzip-compressed)",
    ),
    "gzip without a tar": (gzip.compress(b"no tar inside" * 100), "is not a tar archive"),
    "tar without manifest": (tar_gz([("hello.txt", b"hi")]), "no manifest.json"),
    "root user": (image_tarball(config=image_config(user="root")), "runs as root"),
    "uid 0": (image_tarball(config=image_config(user="0:0")), "runs as root"),
    "no user": (image_tarball(config=image_config(user="")), "runs as root"),
    "arm64": (image_tarball(config=image_config(architecture="arm64")), "linux/amd64"),
    "windows": (image_tarball(config=image_config(os="windows")), "linux/amd64"),
    "no entrypoint": (
        image_tarball(config={**image_config(), "config": {"User": "1000"}}),
        "neither ENTRYPOINT nor CMD",
    ),
    "two images": (image_tarball(images=2), "holds 2 images"),
    "zip slip member": (
        image_tarball(extra_members=[("../../etc/evil", b"x")]),
        "escapes the archive",
    ),
    "absolute member": (image_tarball(extra_members=[("/etc/evil", b"x")]), "unsafe path"),
    "truncated": (image_tarball(layer_bytes=200_000)[:150_000], "truncated"),
    "truncated in a layer, manifest first": (
        image_tarball(layer_bytes=200_000, manifest_first=True)[:150_000],
        "truncated",
    ),
    "truncated gzip": (_GZ[: len(_GZ) // 2], "truncated"),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=list(HOSTILE))
def test_hostile_images_are_refused_and_nothing_is_left(
    client: TestClient,
    world: World,
    settings: Settings,
    jobs: RecordingJobQueue,
    db_session: Session,
    case: str,
) -> None:
    body, expected = HOSTILE[case]
    response = _submit(client, world, body)
    assert response.status_code == 422, response.text
    assert expected in response.json()["message"]
    assert files_under(settings.data_root) == []
    assert jobs.sent == []
    assert db_session.scalars(select(Submission)).all() == []


def test_oversized_upload_is_refused_while_streaming(
    client: TestClient, world: World, settings: Settings
) -> None:
    chunk = b"\0" * (1024 * 1024)

    def endless() -> Iterator[bytes]:  # no Content-Length: the limit must bite mid-stream
        for _ in range(settings.max_upload_bytes // len(chunk) + 4):
            yield chunk

    response = _submit(client, world, endless())
    assert response.status_code == 413
    assert "too large" in response.json()["message"]
    assert files_under(settings.data_root) == []


def test_declared_oversize_is_refused_before_reading(
    client: TestClient, world: World, settings: Settings
) -> None:
    response = client.post(
        f"/api/v1/phases/{world.phase.id}/submissions",
        content=b"x",
        headers={**world.headers("team_a"), "Content-Length": str(settings.max_upload_bytes + 1)},
    )
    assert response.status_code in (400, 413)
    assert files_under(settings.data_root) == []


def test_empty_upload_is_refused(client: TestClient, world: World, settings: Settings) -> None:
    response = _submit(client, world, b"")
    assert response.status_code == 400
    assert "empty" in response.json()["message"]
    assert files_under(settings.data_root) == []


@pytest.mark.parametrize(
    ("opens", "closes", "word"),
    [
        (timedelta(days=1), timedelta(days=2), "not open yet"),
        (-timedelta(days=2), -timedelta(days=1), "closed"),
    ],
    ids=["before", "after"],
)
def test_outside_the_window_is_403_with_the_window(
    client: TestClient,
    world: World,
    db_session: Session,
    opens: timedelta,
    closes: timedelta,
    word: str,
) -> None:
    now = datetime.now(UTC)
    world.phase.opens_at = now + opens
    world.phase.closes_at = now + closes
    db_session.commit()
    response = _submit(client, world, image_tarball())
    assert response.status_code == 403
    message = response.json()["message"]
    assert word in message
    assert world.phase.opens_at.strftime("%Y-%m-%d %H:%M UTC") in message


def test_unapproved_team_cannot_submit(
    client: TestClient, world: World, db_session: Session
) -> None:
    world.team_a.approved = False
    db_session.commit()
    response = _submit(client, world, image_tarball())
    assert response.status_code == 403
    assert "approval" in response.json()["message"]


def test_list_quota_ledger_and_cancel_refunds(
    client: TestClient, world: World, db_session: Session, settings: Settings
) -> None:
    ids = [_submit(client, world, image_tarball()).json()["id"] for _ in range(3)]
    full = _submit(client, world, image_tarball())
    assert full.status_code == 429
    listing = client.get(
        f"/api/v1/phases/{world.phase.id}/submissions", headers=world.headers("team_a")
    ).json()
    assert listing["quota"]["remaining"] == 0
    assert [s["id"] for s in listing["submissions"]] == ids[::-1]
    cancelled = client.delete(f"/api/v1/submissions/{ids[0]}", headers=world.headers("team_a"))
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["slot"] is None
    listing = client.get(
        f"/api/v1/phases/{world.phase.id}/submissions", headers=world.headers("team_a")
    ).json()
    assert listing["quota"] == {"limit": 3, "used": 2, "remaining": 1}
    assert [e["change"] for e in listing["ledger"]] == [-1, -1, -1, 1]
    # The same answer under the team page's name for it.
    history = client.get(
        f"/api/v1/phases/{world.phase.id}/history", headers=world.headers("team_a")
    ).json()
    assert history == listing
    again = client.delete(f"/api/v1/submissions/{ids[0]}", headers=world.headers("team_a"))
    assert again.status_code == 409
    # a running submission cannot be cancelled
    running = db_session.get(Submission, ids[1])
    assert running is not None
    running.status = SubmissionStatus.RUNNING
    db_session.commit()
    refused = client.delete(f"/api/v1/submissions/{ids[1]}", headers=world.headers("team_a"))
    assert refused.status_code == 409
    assert "only a queued submission" in refused.json()["message"]
    # the refunded slot is usable again
    assert _submit(client, world, image_tarball()).status_code == 201


def test_failing_transaction_enqueues_nothing(
    client: TestClient,
    world: World,
    jobs: RecordingJobQueue,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The job is queued inside the request; the commit fails; nothing is sent."""
    real_accept = service.accept

    def accept_then_break(session: Session, **kwargs: Any) -> Submission:
        submission = real_accept(session, **kwargs)
        # A row violating NOT NULL: the commit after the handler fails.
        session.add(AuditEvent(action=None, target_type="x", target_id="1"))
        return submission

    monkeypatch.setattr(service, "accept", accept_then_break)
    response = _submit(client, world, image_tarball())
    assert response.status_code == 500
    assert response.json()["message"]
    assert jobs.sent == []
    assert files_under(settings.data_root) == []


def test_manifest_is_parsed_not_trusted_blindly(
    client: TestClient, world: World, settings: Settings
) -> None:
    manifest_only = tar_gz(
        [("manifest.json", json.dumps([{"Config": "missing.json", "Layers": []}]).encode())]
    )
    response = _submit(client, world, manifest_only)
    assert response.status_code == 422
    assert "missing.json" in response.json()["message"]
    assert files_under(settings.data_root) == []
