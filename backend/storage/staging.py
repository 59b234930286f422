"""Request bodies streamed to local staging, and undoing writes when a transaction fails."""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from backend.errors import DomainError
from backend.storage.base import Storage, StorageError

log = structlog.get_logger(__name__)

_CLEANUP_KEY = "podium_delete_on_rollback"


@dataclass(frozen=True, slots=True)
class StagedUpload:
    """An upload written to disk: where, how big, and its sha256."""

    path: Path
    size: int
    sha256: str


def human_bytes(n: int) -> str:
    """``31457280`` → ``'30.0 MiB'``."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{n} B"
        value /= 1024
    return f"{value:.1f} GiB"


async def receive_stream(
    chunks: AsyncIterator[bytes],
    *,
    staging_dir: Path,
    max_bytes: int,
    declared_length: int | None,
    suffix: str = ".upload",
) -> StagedUpload:
    """Write a request body to a staging file chunk by chunk, hashing as it goes.

    Nothing but the current chunk is held in memory. On any failure (too big,
    truncated, client gone) the partial file is removed before the error is raised.

    Parameters
    ----------
    chunks
        The body, e.g. Starlette's ``request.stream()``.
    staging_dir
        A folder on the same file system as the final destination.
    max_bytes
        Refuse (413) as soon as more than this has arrived.
    declared_length
        The ``Content-Length`` header, if any: a body that ends short is truncated.
    suffix
        Suffix of the staging file name.

    Raises
    ------
    DomainError
        413 when over ``max_bytes``; 400 when the body is empty or truncated.
    """
    if declared_length is not None and declared_length > max_bytes:
        raise DomainError(
            f"upload too large: {human_bytes(declared_length)} declared, the limit is "
            f"{human_bytes(max_bytes)}",
            413,
        )
    staging_dir.mkdir(parents=True, exist_ok=True)
    path = staging_dir / f"{uuid.uuid4().hex}{suffix}"
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("xb") as out:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if size > max_bytes:
                    raise DomainError(
                        f"upload too large: more than the limit of {human_bytes(max_bytes)}",
                        413,
                    )
                digest.update(chunk)
                out.write(chunk)
        if size == 0:
            raise DomainError("the upload is empty: send the file as the request body", 400)
        if declared_length is not None and size != declared_length:
            raise DomainError(
                f"upload truncated: received {size} of {declared_length} bytes; send it again",
                400,
            )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return StagedUpload(path=path, size=size, sha256=digest.hexdigest())


def move_into_place(source: Path, destination: Path) -> None:
    """Rename ``source`` to ``destination``; refuses to overwrite anything."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    if destination.exists():
        raise DomainError(f"refusing to overwrite {destination.name}: it already exists", 409)
    os.replace(source, destination)


def remove_path(path: Path) -> None:
    """Delete a file or folder if it is there."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _undo_on_rollback(session: Session, undo: Callable[[], None]) -> None:
    session.info.setdefault(_CLEANUP_KEY, []).append(undo)


def delete_on_rollback(session: Session, path: Path) -> None:
    """Remove the local ``path`` if ``session``'s outermost transaction does not commit."""
    _undo_on_rollback(session, lambda: remove_path(path))


def remove_on_rollback(
    session: Session, storage: Storage, key: str, *, folder: bool = False
) -> None:
    """Remove the object ``key`` (or the folder) from ``storage`` unless the session commits.

    What a transaction stored is referenced only by rows of that transaction, so
    a rollback leaves it unreachable: removing it keeps the store free of orphans.
    """

    def undo() -> None:
        try:
            (storage.delete_folder if folder else storage.delete)(key)
        except StorageError as exc:
            # The rollback itself must go on; an orphan object costs disk, not correctness.
            log.warning("storage.rollback_cleanup_failed", key=key, error=str(exc))

    _undo_on_rollback(session, undo)


@event.listens_for(Session, "after_commit")
def _keep_after_commit(session: Session) -> None:
    session.info.pop(_CLEANUP_KEY, None)


@event.listens_for(Session, "after_transaction_end")
def _cleanup_after_rollback(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    for undo in session.info.pop(_CLEANUP_KEY, []):
        undo()
