"""Hostile uploads the backend tests do not cover: bombs, hard links, devices, long names.

Each is refused with a specific 422 (or, for a harmless long name, accepted),
leaves no file under the data root, no row and no job. The path tricks,
symlinks, truncation and plain garbage are in ``tests/backend``.
"""

from __future__ import annotations

import tarfile
import time
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.challenges.models import Case, LabelSet
from backend.config import Settings
from backend.jobs import RecordingJobQueue
from backend.submissions.models import Submission
from tests.backend.conftest import World, files_under
from tests.backend.factories import make_case
from tests.backend.tarballs import tar_gz
from tests.reliability.hostile_archives import (
    gzip_bomb_tar,
    image_members,
    special_tar,
    zip_bomb,
)

pytestmark = pytest.mark.postgres

GIB = 1 << 30

IMAGE_TARBALLS: dict[str, tuple[bytes, str]] = {
    "gzip bomb (1 GiB layer)": (
        gzip_bomb_tar(member="layer1/layer.tar", expanded=GIB, before=image_members()),
        "uncompressed, the archive is larger than the upload limit (8.0 MiB) at 'layer1/layer.tar'",
    ),
    "hard link out of the archive": (
        special_tar(image_members(), kind=tarfile.LNKTYPE, name="x", linkname="../../etc/passwd"),
        "the link 'x' points outside the archive",
    ),
    "absolute symlink": (
        special_tar(image_members(), kind=tarfile.SYMTYPE, name="y", linkname="/etc/shadow"),
        "the link 'y' points outside the archive",
    ),
    "character device": (
        special_tar(image_members(), kind=tarfile.CHRTYPE, name="dev/null"),
        "the archive member 'dev/null' is not a file or folder",
    ),
    "block device": (
        special_tar(image_members(), kind=tarfile.BLKTYPE, name="dev/sda", gzip_it=False),
        "the archive member 'dev/sda' is not a file or folder",
    ),
    "fifo": (
        special_tar(image_members(), kind=tarfile.FIFOTYPE, name="pipe"),
        "the archive member 'pipe' is not a file or folder",
    ),
}


@pytest.mark.parametrize("case", list(IMAGE_TARBALLS), ids=list(IMAGE_TARBALLS))
def test_hostile_image_tarballs_are_refused_and_leave_nothing(
    client: TestClient,
    world: World,
    settings: Settings,
    jobs: RecordingJobQueue,
    db_session: Session,
    case: str,
) -> None:
    body, expected = IMAGE_TARBALLS[case]
    assert len(body) < settings.max_upload_bytes
    started = time.perf_counter()
    response = client.post(
        f"/api/v1/phases/{world.phase.id}/submissions",
        content=body,
        headers=world.headers("team_a"),
    )
    assert time.perf_counter() - started < 10  # a 1 GiB expansion is stopped at 8 MiB
    assert response.status_code == 422, response.text
    assert expected in response.json()["message"]
    assert files_under(settings.data_root) == []
    assert jobs.sent == []
    assert db_session.scalars(select(Submission)).all() == []


def test_a_very_long_member_name_in_an_image_is_harmless(
    client: TestClient, world: World, settings: Settings
) -> None:
    long_name = "/".join(["d" * 200] * 40) + "/notes.txt"  # 8 kB, a PAX header
    body = special_tar([*image_members(), (long_name, b"x")], kind=tarfile.DIRTYPE, name="d" * 255)
    response = client.post(
        f"/api/v1/phases/{world.phase.id}/submissions",
        content=body,
        headers=world.headers("team_a"),
    )
    assert response.status_code == 201, response.text
    assert len(files_under(settings.data_root)) == 1


#: name -> (archive builder, words the refusal must contain); built lazily (the bomb takes 1 s).
ORGANISER_ARCHIVES: dict[str, tuple[Callable[[], bytes], str]] = {
    "gzip bomb (256 MiB .nii, one gzip stream)": (
        lambda: gzip_bomb_tar(member="c1.nii", expanded=256 << 20, single_member=True),
        "it unpacks to more than 8.0 MiB (the upload limit)",
    ),
    "gzip bomb (1 GiB .nii, concatenated gzip members)": (
        lambda: gzip_bomb_tar(member="c1.nii", expanded=GIB),
        "member 'c1.nii' is truncated or corrupt (unexpected end of data)",
    ),
    "zip bomb (64 MiB .nii)": (
        lambda: zip_bomb(member="c1.nii", expanded=64 << 20),
        "it unpacks to more than 8.0 MiB (the upload limit)",
    ),
    "hard link": (
        lambda: special_tar(
            [("c1.nii.gz", b"x")], kind=tarfile.LNKTYPE, name="c2.nii.gz", linkname="c1.nii.gz"
        ),
        "member 'c2.nii.gz' is a link",
    ),
    "character device": (
        lambda: special_tar([("c1.nii.gz", b"x")], kind=tarfile.CHRTYPE, name="c2.nii.gz"),
        "member 'c2.nii.gz' is not a regular file",
    ),
    "fifo": (
        lambda: special_tar([("c1.nii.gz", b"x")], kind=tarfile.FIFOTYPE, name="c2.nii.gz"),
        "member 'c2.nii.gz' is not a regular file",
    ),
    "300-character case key": (
        lambda: tar_gz([("k" * 300 + ".nii.gz", b"x")]),
        "is 300 characters long; a case key has at most 200",
    ),
    "NUL in a name (tar cuts the name there)": (
        lambda: special_tar([], kind=tarfile.REGTYPE, name="c1\x00.nii.gz", gzip_it=False),
        "'c1' is not in a format the scorer reads",
    ),
}


@pytest.mark.parametrize("target", ["inputs", "labels"])
@pytest.mark.parametrize("case", list(ORGANISER_ARCHIVES), ids=list(ORGANISER_ARCHIVES))
def test_hostile_organiser_archives_are_refused_and_leave_nothing(
    client: TestClient,
    world: World,
    settings: Settings,
    db_session: Session,
    case: str,
    target: str,
) -> None:
    make_case(db_session, phase=world.phase, key="c1")
    make_case(db_session, phase=world.phase, key="c2")
    db_session.commit()
    build, expected = ORGANISER_ARCHIVES[case]
    body = build()
    started = time.perf_counter()
    url = (
        f"/api/v1/phases/{world.phase.id}/inputs"
        if target == "inputs"
        else f"/api/v1/tasks/{world.phase.task_id}/label-sets/lesion"
    )
    response = client.post(url, content=body, headers=world.headers("organiser"))
    assert time.perf_counter() - started < 10
    assert response.status_code == 422, response.text
    assert expected in response.json()["message"]
    assert files_under(settings.data_root) == []
    assert db_session.scalars(select(LabelSet)).all() == []
    assert all(c.input_sha256 is None for c in db_session.scalars(select(Case)))
