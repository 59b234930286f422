"""Objects in an S3-compatible bucket (AWS, MinIO, Ceph; moto's server in the tests)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import BotoCoreError, ClientError

from backend.storage.base import Readable, StorageError, checked_key

MIB = 1024 * 1024

#: Multipart uploads of 16 MiB parts, two in flight: an upload of any size holds
#: about 32 MiB in memory (docs/benchmarks.md, benchmarks/upload.py --storage s3).
TRANSFER = TransferConfig(
    multipart_threshold=16 * MIB, multipart_chunksize=16 * MIB, max_concurrency=2
)
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


def _missing(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") in _MISSING


class S3Storage:
    """Objects in a bucket; uploads are multipart, visible only once complete.

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

    def _where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def fetch(self, key: str, destination: Path) -> None:
        """Download ``key`` to ``destination`` (written beside it, then renamed)."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(f".{destination.name}.partial")
        try:
            self.client.download_file(self.bucket, self._key(key), str(partial), Config=TRANSFER)
        except (BotoCoreError, ClientError) as exc:
            partial.unlink(missing_ok=True)
            raise StorageError(f"cannot fetch {key} from {self._where()}: {exc}") from exc
        partial.replace(destination)

    def put(self, source: Path, key: str) -> None:
        """Upload ``source`` as ``key`` (multipart above 16 MiB; atomic for readers)."""
        try:
            self.client.upload_file(str(source), self.bucket, self._key(key), Config=TRANSFER)
        except (BotoCoreError, ClientError, OSError) as exc:
            raise StorageError(f"cannot store {key} in {self._where()}: {exc}") from exc

    def move_in(self, source: Path, key: str) -> None:
        """Upload ``source`` as the new object ``key``, then remove the local file."""
        if self.exists(key):
            raise StorageError(f"refusing to overwrite {key}: it already exists")
        self.put(source, key)
        source.unlink(missing_ok=True)

    def move_in_folder(self, files: Mapping[str, Path], prefix: str) -> None:
        """Upload each file under ``prefix/``; on failure, delete what was uploaded."""
        folder = checked_key(prefix)
        if self.list(folder):
            raise StorageError(f"refusing to overwrite {prefix}: it already holds objects")
        done: list[str] = []
        try:
            for name, source in files.items():
                key = f"{folder}/{checked_key(name)}"
                self.put(source, key)
                done.append(key)
        except BaseException:
            for key in done:
                self.delete(key)
            raise
        for source in files.values():
            source.unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        """Whether the object exists."""
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _missing(exc):
                return False
            raise StorageError(f"cannot reach {self._where()}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot reach {self._where()}: {exc}") from exc
        return True

    def _keys(self, prefix: str, *, delimiter: bool) -> list[str]:
        """Bucket keys under ``prefix/`` (directly under it with ``delimiter``)."""
        folder = self._key(prefix) + "/"
        extra = {"Delimiter": "/"} if delimiter else {}
        keys: list[str] = []
        try:
            paginator = self.client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=folder, **extra):
                keys += [item["Key"] for item in page.get("Contents", [])]
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot list {prefix} in {self._where()}: {exc}") from exc
        return keys

    def list(self, prefix: str) -> list[str]:
        """Objects directly under ``prefix/``."""
        folder = self._key(prefix) + "/"
        names = (k[len(folder) :] for k in self._keys(prefix, delimiter=True))
        return sorted(f"{checked_key(prefix)}/{n}" for n in names if n and "/" not in n)

    def open(self, key: str) -> Readable:
        """The object's body as a stream (nothing is buffered beyond a read)."""
        try:
            body: Readable = self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"]
        except ClientError as exc:
            if _missing(exc):
                raise StorageError(f"{key} is not in {self._where()}") from exc
            raise StorageError(f"cannot read {key} from {self._where()}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"cannot read {key} from {self._where()}: {exc}") from exc
        return body

    def delete(self, key: str) -> None:
        """Delete the object (S3 answers the same whether it existed or not)."""
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot delete {key} from {self._where()}: {exc}") from exc

    def delete_folder(self, prefix: str) -> None:
        """Delete every object under ``prefix/``, a thousand per request."""
        keys = self._keys(prefix, delimiter=False)
        try:
            for start in range(0, len(keys), 1000):
                batch = [{"Key": k} for k in keys[start : start + 1000]]
                self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True}
                )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"cannot delete {prefix} from {self._where()}: {exc}") from exc
