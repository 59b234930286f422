"""Safe unpacking of organiser archives (test inputs, label sets): ``.tar.gz`` or ``.zip``.

Members must be regular files (or folders) with safe relative names: absolute
paths, ``..``, links, devices and duplicate names are refused before anything
is written. We write each file ourselves (never ``extractall``), into a fresh
folder the caller moves into place or deletes.
"""

from __future__ import annotations

import hashlib
import posixpath
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from backend.errors import DomainError
from backend.storage import human_bytes
from scoring.formats import EXTENSIONS
from scoring.formats import split_case_name as split_name

#: Archive noise from desktop tools, skipped rather than refused.
_IGNORED_PARTS = ("__MACOSX",)
_IGNORED_NAMES = (".DS_Store", "Thumbs.db")
_COPY_CHUNK = 1024 * 1024
#: Case keys are at most this long (the database column and the challenge file's rule).
MAX_KEY_LENGTH = 200


@dataclass(frozen=True, slots=True)
class CaseFile:
    """One file of an archive, matched to a case by its name."""

    key: str
    suffix: str
    path: Path
    sha256: str
    size: int


def _bad(message: str) -> DomainError:
    return DomainError(f"archive refused: {message}", 422)


def safe_member_name(name: str) -> str:
    """The normalised relative name, or a refusal for an unsafe one."""
    if (
        not name
        or name.startswith(("/", "\\"))
        or "\\" in name
        or (len(name) > 1 and name[1] == ":")
    ):
        raise _bad(f"member {name!r} has an absolute or non-POSIX path")
    if any(part == ".." for part in name.split("/")):
        raise _bad(f"member {name!r} contains '..' (it would be written outside the folder)")
    clean = posixpath.normpath(name).removeprefix("./")
    if "\x00" in clean:
        raise _bad(f"member {name!r} contains a NUL byte")
    return clean


def split_case_name(name: str) -> tuple[str, str]:
    """``'a/b/case_01.nii.gz'`` → ``('case_01', '.nii.gz')``, in a format the scorer reads.

    The formats are :data:`scoring.formats.EXTENSIONS`, the ones the worker's
    scorer reads, so nothing is accepted here that an evaluation would fail on.
    """
    parts = split_name(posixpath.basename(name), ignore_case=True)
    if parts is None:
        raise _bad(
            f"{name!r} is not in a format the scorer reads: use one of "
            f"{', '.join(EXTENSIONS)} (convert other formats, e.g. .nrrd, to .nii.gz first)"
        )
    key, suffix = parts
    if len(key) > MAX_KEY_LENGTH:
        raise _bad(
            f"the file name {key[:40]!r}… is {len(key)} characters long; a case key "
            f"has at most {MAX_KEY_LENGTH}"
        )
    return key, suffix


def _ignored(name: str) -> bool:
    parts = name.split("/")
    return any(p in _IGNORED_PARTS for p in parts) or parts[-1] in _IGNORED_NAMES


def _tar_members(path: Path) -> Iterator[tuple[str, IO[bytes]]]:
    # Stream mode: a .tar.gz is decompressed once, front to back.
    with tarfile.open(path, mode="r|*") as archive:
        for member in archive:
            name = safe_member_name(member.name)
            if member.issym() or member.islnk():
                raise _bad(f"member {name!r} is a link; put the file itself in the archive")
            if member.isdir():
                continue
            if not member.isfile():
                raise _bad(f"member {name!r} is not a regular file")
            handle = archive.extractfile(member)
            if handle is None:
                raise _bad(f"member {name!r} cannot be read")
            yield name, handle


def _zip_members(path: Path) -> Iterator[tuple[str, IO[bytes]]]:
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            name = safe_member_name(info.filename)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise _bad(f"member {name!r} is a link; put the file itself in the archive")
            if info.is_dir():
                continue
            # Zip tools often store permission bits without a file type; only a
            # type that is present and not "regular" is refused.
            if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
                raise _bad(f"member {name!r} is not a regular file")
            with archive.open(info) as handle:
                yield name, handle


def _members(path: Path) -> Iterator[tuple[str, IO[bytes]]]:
    with path.open("rb") as probe:
        magic = probe.read(4)
    try:
        if magic.startswith(b"PK\x03\x04") or magic.startswith(b"PK\x05\x06"):
            yield from _zip_members(path)
        else:
            yield from _tar_members(path)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError) as exc:
        raise _bad(f"not a readable .tar.gz or .zip archive, or truncated ({exc})") from exc


def archive_files(path: Path) -> Iterator[tuple[str, IO[bytes]]]:
    """The regular files of a ``.tar.gz`` or ``.zip`` with their safe names (refusing the rest).

    Desktop-tool noise (``__MACOSX``, ``.DS_Store``) is skipped; folders are walked.
    """
    for name, handle in _members(path):
        if not _ignored(name):
            yield name, handle


def read_member(handle: IO[bytes], name: str, *, limit: int) -> bytes:
    """At most ``limit`` + 1 bytes of a member (so a caller can tell it is larger)."""
    data = bytearray()
    while len(data) <= limit and (chunk := _read_chunk(handle, name)):
        data += chunk
    return bytes(data[: limit + 1])


def _read_chunk(handle: IO[bytes], name: str) -> bytes:
    # A member can end early or be corrupt although its header was fine; that is
    # the archive's fault, not ours, whichever layer (tar, gzip, zip) notices.
    try:
        return handle.read(_COPY_CHUNK)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise _bad(f"member {name!r} is truncated or corrupt ({exc})") from exc


def unpack_case_files(
    archive: Path, destination: Path, *, max_bytes: int | None = None
) -> dict[str, CaseFile]:
    """Unpack ``archive`` into the new folder ``destination``, one file per case key.

    Parameters
    ----------
    archive
        A ``.tar.gz`` (or plain ``.tar``) or ``.zip`` file.
    destination
        A folder that must not exist yet.
    max_bytes
        Refuse the archive as soon as its unpacked files exceed this many bytes
        (a small compressed archive can expand to fill the disk).

    Returns
    -------
    dict
        Case key → :class:`CaseFile`.

    Raises
    ------
    DomainError
        422 for an unsafe member, a duplicate name, two files for one case key,
        an unreadable archive or one that unpacks to more than ``max_bytes``.
        ``destination`` is removed on any failure.
    """
    destination.mkdir(parents=True, exist_ok=False)
    seen: set[str] = set()
    files: dict[str, CaseFile] = {}
    total = 0
    try:
        for name, handle in _members(archive):
            if _ignored(name):
                continue
            if name in seen:
                raise _bad(f"member {name!r} appears twice")
            seen.add(name)
            key, suffix = split_case_name(name)
            if key in files:
                raise _bad(
                    f"two files for case {key!r} ({name!r} and another); every case needs "
                    "exactly one file"
                )
            target = destination / f"{key}{suffix}"
            digest = hashlib.sha256()
            size = 0
            with target.open("xb") as out:
                while chunk := _read_chunk(handle, name):
                    digest.update(chunk)
                    size += len(chunk)
                    total += len(chunk)
                    if max_bytes is not None and total > max_bytes:
                        raise _bad(
                            f"it unpacks to more than {human_bytes(max_bytes)} (the upload "
                            "limit); split it or raise PODIUM_MAX_UPLOAD_BYTES"
                        )
                    out.write(chunk)
            files[key] = CaseFile(
                key=key, suffix=suffix, path=target, sha256=digest.hexdigest(), size=size
            )
    except BaseException:
        for child in destination.iterdir():
            child.unlink()
        destination.rmdir()
        raise
    if not files:
        destination.rmdir()
        raise _bad("it contains no image files")
    return files


def hash_file(path: Path) -> str:
    """sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_COPY_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def content_sha256(files: dict[str, CaseFile]) -> str:
    """One hash for a set of case files: same files under the same keys → same hash."""
    digest = hashlib.sha256()
    for key in sorted(files):
        digest.update(f"{key}\t{files[key].suffix}\t{files[key].sha256}\n".encode())
    return digest.hexdigest()
