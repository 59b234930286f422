"""The storage contract the API and the workers share, on the filesystem and on S3 (moto).

Moving files in never overwrites, appears whole or not at all, and what a
transaction stored is removed again when it rolls back.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from sqlalchemy.orm import Session, sessionmaker

from backend.storage import (
    FilesystemStorage,
    S3Storage,
    Storage,
    StorageError,
    remove_on_rollback,
)
from tests.support.s3 import CREDENTIALS, moto_server


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(params=["filesystem", "s3"])
def storage(request, tmp_path: Path, s3_endpoint: str, monkeypatch) -> Storage:
    if request.param == "filesystem":
        return FilesystemStorage(tmp_path / "store")
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    bucket = f"b{abs(hash(tmp_path)) % 10**9}"
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket=bucket)
    return S3Storage(bucket=bucket, prefix="root", client=client)


def _file(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def test_move_in_consumes_the_file_and_never_overwrites(storage: Storage, tmp_path: Path) -> None:
    first = _file(tmp_path / "staging", "a", b"first")
    storage.move_in(first, "submissions/1/a.tar")
    assert not first.exists()
    with storage.open("submissions/1/a.tar") as stream:  # type: ignore[attr-defined]
        assert stream.read() == b"first"
    second = _file(tmp_path / "staging", "b", b"second")
    with pytest.raises(StorageError, match="refusing to overwrite"):
        storage.move_in(second, "submissions/1/a.tar")
    assert second.exists()
    stream = storage.open("submissions/1/a.tar")
    assert stream.read() == b"first"
    stream.close()


def test_folders_appear_complete_and_are_removed_whole(storage: Storage, tmp_path: Path) -> None:
    files = {f"case_{i}.nii.gz": _file(tmp_path / "in", f"{i}", b"x" * i) for i in range(3)}
    storage.move_in_folder(files, "labels/v1")
    assert storage.list("labels/v1") == [f"labels/v1/case_{i}.nii.gz" for i in range(3)]
    assert not any(p.exists() for p in files.values())
    again = {"case_0.nii.gz": _file(tmp_path / "in", "again", b"y")}
    with pytest.raises(StorageError, match="refusing to overwrite"):
        storage.move_in_folder(again, "labels/v1")
    storage.delete_folder("labels/v1")
    assert storage.list("labels/v1") == []
    storage.delete("labels/v1/case_0.nii.gz")  # absent: no error
    with pytest.raises(StorageError):
        storage.open("labels/v1/case_0.nii.gz")


def test_a_rolled_back_transaction_removes_what_it_stored(
    storage: Storage, tmp_path: Path, session_factory: sessionmaker[Session]
) -> None:
    kept = _file(tmp_path / "in", "kept", b"kept")
    with session_factory() as session, session.begin():
        storage.move_in(kept, "inputs/kept")
        remove_on_rollback(session, storage, "inputs/kept")
    assert storage.exists("inputs/kept")

    lost = _file(tmp_path / "in", "lost", b"lost")
    folder = {"a": _file(tmp_path / "in", "a", b"a")}

    def store_then_fail() -> None:
        with session_factory() as session, session.begin():
            storage.move_in(lost, "inputs/lost")
            remove_on_rollback(session, storage, "inputs/lost")
            storage.move_in_folder(folder, "labels/v9")
            remove_on_rollback(session, storage, "labels/v9", folder=True)
            raise RuntimeError("the transaction fails after the files were stored")

    with pytest.raises(RuntimeError):
        store_then_fail()
    assert not storage.exists("inputs/lost")
    assert storage.list("labels/v9") == []
    assert storage.exists("inputs/kept")
