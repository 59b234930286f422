"""Storage: what the API writes and the workers read, through one interface.

* :mod:`backend.storage.base` — the :class:`Storage` protocol, keys, :class:`StorageError`;
* :mod:`backend.storage.filesystem` and :mod:`backend.storage.s3` — its two backends;
* :mod:`backend.storage.factory` — the backend the settings name;
* :mod:`backend.storage.staging` — request bodies streamed to local disk, and
  undoing writes when a transaction rolls back.
"""

from backend.storage.base import Readable, Storage, StorageError, checked_key, read_chunks
from backend.storage.factory import make_storage
from backend.storage.filesystem import FilesystemStorage
from backend.storage.s3 import S3Storage
from backend.storage.staging import (
    StagedUpload,
    delete_on_rollback,
    human_bytes,
    move_into_place,
    receive_stream,
    remove_on_rollback,
    remove_path,
)

__all__ = [
    "FilesystemStorage",
    "Readable",
    "S3Storage",
    "StagedUpload",
    "Storage",
    "StorageError",
    "checked_key",
    "delete_on_rollback",
    "human_bytes",
    "make_storage",
    "move_into_place",
    "read_chunks",
    "receive_stream",
    "remove_on_rollback",
    "remove_path",
]
