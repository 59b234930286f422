"""Objects as files under the data root (one host, or a mount shared by several)."""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Mapping
from pathlib import Path

from backend.storage.base import Readable, StorageError, checked_key


def _partial_name(target: Path) -> Path:
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.partial")


class FilesystemStorage:
    """Objects are files under ``root``; fetching hard-links when it can.

    Writers rename into place (a reader never sees half a file), so staging
    folders must be on the same file system as ``root`` for a move to be a rename.

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
        partial = _partial_name(target)
        try:
            shutil.copyfile(source, partial)
            partial.replace(target)
        except OSError as exc:
            # A full disk must not keep what it half-wrote (each retry would add one).
            partial.unlink(missing_ok=True)
            raise StorageError(
                f"cannot write {key} under the data root: {exc.strerror or exc}"
            ) from exc

    def move_in(self, source: Path, key: str) -> None:
        """Rename ``source`` to ``key`` (copy then rename across file systems)."""
        target = self.path(key)
        if target.exists():
            raise StorageError(f"refusing to overwrite {key}: it already exists")
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.rename(source, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:  # another file system: copy, then rename
                raise StorageError(f"cannot store {key}: {exc.strerror or exc}") from exc
            self.put(source, key)
            source.unlink()

    def move_in_folder(self, files: Mapping[str, Path], prefix: str) -> None:
        """Fill a hidden sibling folder, then rename it: the folder appears complete."""
        target = self.path(prefix)
        if target.exists():
            raise StorageError(f"refusing to overwrite {prefix}: it already exists")
        staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        staging.mkdir(parents=True)
        try:
            for name, source in files.items():
                checked_key(name)
                try:
                    os.rename(source, staging / name)
                except OSError:
                    shutil.copyfile(source, staging / name)
                    source.unlink()
            staging.rename(target)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise

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

    def open(self, key: str) -> Readable:
        """The file, opened for reading."""
        path = self.path(key)
        try:
            return path.open("rb")
        except OSError as exc:
            raise StorageError(f"{key} is not in the store ({path})") from exc

    def delete(self, key: str) -> None:
        """Unlink the file if it is there."""
        self.path(key).unlink(missing_ok=True)

    def delete_folder(self, prefix: str) -> None:
        """Remove the folder and everything in it."""
        shutil.rmtree(self.path(prefix), ignore_errors=True)
