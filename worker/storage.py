"""Where the worker gets submission images, test inputs and labels, and puts predictions.

Keys are the relative paths the database stores (``Submission.tarball_path``,
``Case.input_paths``, ``LabelSet.storage_path`` + ``/<case><ext>``). Two
backends: :class:`FilesystemStorage` under the data root (the default; on
several hosts, a shared mount such as NFS) and :class:`S3Storage` for an
S3-compatible object store. Either way the worker stages what a run needs on
local disk first, so the container only ever sees a local folder.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

import boto3
from botocore.exceptions import BotoCoreError, ClientError


class StorageError(Exception):
    """An object is missing or the store cannot be reached."""


def checked_key(key: str) -> str:
    """``key`` if it is a relative path that stays inside the store.

    Examples
    --------
    >>> checked_key("submissions/3/image.tar")
    'submissions/3/image.tar'
    >>> checked_key("../etc/passwd")
    Traceback (most recent call last):
    ...
    ValueError: storage key '../etc/passwd' must be a relative path without '..'
    """
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts:
        raise ValueError(f"storage key {key!r} must be a relative path without '..'")
    return str(path)


class Storage(Protocol):
    """The few operations a worker needs."""

    def fetch(self, key: str, destination: Path) -> None:
        """Copy the object ``key`` to the local file ``destination``."""
        ...

    def put(self, source: Path, key: str) -> None:
        """Store the local file ``source`` as ``key`` (replacing it)."""
        ...

    def exists(self, key: str) -> bool:
        """Whether ``key`` exists."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Keys directly under the folder ``prefix``, sorted."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` (nothing happens when it does not exist)."""
        ...


class FilesystemStorage:
    """Objects are files under ``root``; fetching hard-links when it can.

    Parameters
    ----------
    root
        The data root (``PODIUM_DATA_ROOT``).
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        """The file behind ``key``."""
        return self.root / checked_key(key)

    def fetch(self, key: str, destination: Path) -> None:
        """Hard-link (same file system) or copy ``key`` to ``destination``."""
        source = self.path(key)
        if not source.is_file():
            raise StorageError(f"{key} is not in the store ({source})")
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, destination)
        except OSError:
            shutil.copyfile(source, destination)

    def put(self, source: Path, key: str) -> None:
        """Copy then rename, so a reader never sees half a file."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")
        try:
            shutil.copyfile(source, partial)
            partial.replace(target)
        except OSError as exc:
            # A full disk must not keep what it half-wrote (each retry would add one).
            partial.unlink(missing_ok=True)
            raise StorageError(
                f"cannot write {key} under the data root: {exc.strerror or exc}"
            ) from exc

    def exists(self, key: str) -> bool:
        """Whether the file exists."""
        return self.path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        """Files directly in the folder ``prefix``."""
        folder = self.path(prefix)
        if not folder.is_dir():
            return []
        return sorted(
            f"{checked_key(prefix)}/{p.name}"
            for p in folder.iterdir()
            if p.is_file() and not p.name.startswith(".")
        )

    def delete(self, key: str) -> None:
        """Remove the file (and its folder once empty)."""
        path = self.path(key)
        try:
            path.unlink(missing_ok=True)
            if path.parent != self.root:
                path.parent.rmdir()
        except OSError as exc:
            if path.exists():  # a folder that still has files is fine; a file left is not
                raise StorageError(f"cannot remove {key}: {exc.strerror or exc}") from exc


class S3Storage:
    """Objects in an S3-compatible bucket (AWS, MinIO, Ceph, moto in the tests).

    Parameters
    ----------
    bucket
        Bucket name.
    prefix
        Key prefix inside the bucket (a folder), may be empty.
    endpoint_url
        The server's URL for non-AWS stores.
    client
        A ready boto3 S3 client; made from the other parameters when omitted.
    """

    def __init__(
        self,
        *,
        bucket: str,
        prefix: str = "",
        endpoint_url: str | None = None,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._endpoint_url = endpoint_url
        self._client = client

    @property
    def client(self) -> Any:
        """The boto3 client, created on first use."""
        if self._client is None:
            self._client = boto3.client("s3", endpoint_url=self._endpoint_url)
        return self._client

    def _key(self, key: str) -> str:
        key = checked_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def fetch(self, key: str, destination: Path) -> None:
        """Download ``key`` to ``destination`` (written beside it, then renamed)."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(f".{destination.name}.partial")
        try:
            self.client.download_file(self.bucket, self._key(key), str(partial))
        except (BotoCoreError, ClientError) as exc:
            partial.unlink(missing_ok=True)
            raise StorageError(f"cannot fetch {key} from s3://{self.bucket}: {exc}") from exc
        partial.replace(destination)

    def put(self, source: Path, key: str) -> None:
        """Upload ``source`` as ``key``."""
        try:
            self.client.upload_file(str(source), self.bucket, self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot store {key} in s3://{self.bucket}: {exc}") from exc

    def exists(self, key: str) -> bool:
        """Whether the object exists."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise StorageError(f"cannot reach s3://{self.bucket}: {exc}") from exc
        return True

    def list(self, prefix: str) -> list[str]:
        """Objects directly under ``prefix/``."""
        folder = self._key(prefix) + "/"
        keys: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=folder, Delimiter="/"):
            for item in page.get("Contents", []):
                name = item["Key"][len(folder) :]
                if name and "/" not in name:
                    keys.append(f"{checked_key(prefix)}/{name}")
        return sorted(keys)

    def delete(self, key: str) -> None:
        """Delete the object (S3 answers a missing key with success too)."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot delete {key} from s3://{self.bucket}: {exc}") from exc
