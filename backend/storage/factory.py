"""The storage backend a deployment's settings name (``PODIUM_STORAGE_BACKEND``)."""

from __future__ import annotations

from backend.config import Settings
from backend.storage.base import Storage
from backend.storage.filesystem import FilesystemStorage
from backend.storage.s3 import S3Storage


def make_storage(settings: Settings) -> Storage:
    """Files under the data root, or the S3 bucket ``PODIUM_S3_BUCKET``."""
    if settings.storage_backend == "s3":
        if not settings.s3_bucket:
            raise ValueError("PODIUM_STORAGE_BACKEND=s3 needs PODIUM_S3_BUCKET")
        return S3Storage(
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
        )
    return FilesystemStorage(settings.data_root)
