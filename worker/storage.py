"""The storage the worker reads and writes: the API's own, :mod:`backend.storage`.

Kept so that ``worker.storage`` names the same classes; import from
:mod:`backend.storage` in new code.
"""

from backend.storage import FilesystemStorage, S3Storage, Storage, StorageError, checked_key

__all__ = ["FilesystemStorage", "S3Storage", "Storage", "StorageError", "checked_key"]
