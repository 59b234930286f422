"""Validation of a ``docker save`` tarball without Docker: parse the tar ourselves.

We read it once, as a stream (plain or gzip), keeping only small JSON members in
memory; the image itself is loaded later by the worker. Every refusal says how
to fix it, because the reader is a participant with a deadline.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import posixpath
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.challenges.contract import RootPolicy
from backend.storage import human_bytes
from backend.submissions.image_checks import (
    DEFAULT_ROOT_POLICY,
    check_image_config,
    refuse,
    string_list,
)

#: Members up to this size are kept in memory: manifest, configs, index files.
_SMALL_MEMBER = 4 * 1024 * 1024
#: Cap on all kept members together, so a tar of many small files cannot bloat us.
_SMALL_TOTAL = 64 * 1024 * 1024

SAVE_HINT = "create it with `docker save IMAGE:TAG -o image.tar` (optionally gzip it)"


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the archive says about the image."""

    digest: str
    repo_tags: list[str]
    architecture: str
    os: str
    user: str
    entrypoint: list[str]
    cmd: list[str]
    layer_count: int


def _normalise(name: str) -> str:
    if name.startswith("/") or "\\" in name:
        raise refuse(f"the archive member {name!r} has an unsafe path; {SAVE_HINT}")
    clean = posixpath.normpath(name)
    if clean == ".." or clean.startswith("../"):
        raise refuse(f"the archive member {name!r} escapes the archive; {SAVE_HINT}")
    return clean.removeprefix("./")


def _starts_like_tar(path: Path, *, gzipped: bool) -> bool:
    """Whether the (decompressed) upload begins with a valid tar header block."""
    try:
        with gzip.open(path, "rb") if gzipped else path.open("rb") as stream:
            block = stream.read(tarfile.BLOCKSIZE)
        tarfile.TarInfo.frombuf(block, tarfile.ENCODING, "surrogateescape")
    except (OSError, EOFError, zlib.error, tarfile.HeaderError):
        return False
    return True


def _read_members(path: Path, *, max_unpacked: int | None) -> tuple[dict[str, bytes], set[str]]:
    small: dict[str, bytes] = {}
    names: set[str] = set()
    kept = 0
    with path.open("rb") as probe:
        gzipped = probe.read(2) == b"\x1f\x8b"
    # Named for what it is, rather than "not a tar or truncated": a truncated tar
    # still starts with a valid header, anything else never does.
    if not _starts_like_tar(path, gzipped=gzipped):
        raise refuse(f"the upload is not a tar archive (plain or gzip-compressed); {SAVE_HINT}")
    # A plain tar is read with seeks over the layer data (no second pass over
    # gigabytes); a gzip stream can only be read front to back.
    file_size = path.stat().st_size
    try:
        with (
            tarfile.open(path, mode="r|gz") if gzipped else tarfile.open(path, mode="r:")
        ) as archive:
            for member in archive:
                name = _normalise(member.name)
                if member.issym() or member.islnk():
                    target = posixpath.normpath(
                        posixpath.join(posixpath.dirname(name), member.linkname)
                        if member.issym()
                        else member.linkname
                    )
                    if target.startswith("/") or target == ".." or target.startswith("../"):
                        raise refuse(f"the link {name!r} points outside the archive")
                    names.add(name)
                    continue
                if not (member.isfile() or member.isdir()):
                    raise refuse(f"the archive member {name!r} is not a file or folder")
                names.add(name)
                # Checked on the header, before the member's data is decompressed:
                # a few megabytes of gzip can expand to terabytes.
                if gzipped and max_unpacked is not None:
                    unpacked = member.offset_data + member.size
                    if unpacked > max_unpacked:
                        raise refuse(
                            f"uncompressed, the archive is larger than the upload limit "
                            f"({human_bytes(max_unpacked)}) at {name!r}; {SAVE_HINT}"
                        )
                if not gzipped and member.isfile() and member.offset_data + member.size > file_size:
                    raise refuse(f"the archive is truncated inside {name!r}; upload it again")
                if member.isfile() and member.size <= _SMALL_MEMBER and kept < _SMALL_TOTAL:
                    handle = archive.extractfile(member)
                    if handle is not None:
                        data = handle.read()
                        small[name] = data
                        kept += len(data)
    except (EOFError, OSError, tarfile.TarError) as exc:
        raise refuse(f"the archive is truncated or corrupt ({exc}); {SAVE_HINT}") from exc
    return small, names


def _json(small: dict[str, bytes], name: str, what: str) -> Any:
    data = small.get(_normalise(name))
    if data is None:
        raise refuse(f"{what} {name!r} is missing from the archive; {SAVE_HINT}")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise refuse(f"{what} {name!r} is not valid JSON ({exc})") from exc


def inspect_image_archive(
    path: Path,
    *,
    max_unpacked_bytes: int | None = None,
    root_images: RootPolicy = DEFAULT_ROOT_POLICY,
) -> ImageInfo:
    """Check that ``path`` is a single linux/amd64 image that runs as a non-root user.

    Parameters
    ----------
    path
        A ``docker save`` tarball, plain or gzip-compressed.
    max_unpacked_bytes
        For a gzip-compressed tarball, refuse it once its uncompressed tar would
        exceed this many bytes (the limit a plain tar upload has).
    root_images
        The phase's root policy: ``refuse`` an image that declares root, or
        accept it because the worker will ``run_unprivileged``.

    Returns
    -------
    ImageInfo
        The image ID (``sha256:`` of its config), tags and run configuration.

    Raises
    ------
    DomainError
        422 with a message that says what is wrong and how to fix it.
    """
    small, names = _read_members(path, max_unpacked=max_unpacked_bytes)
    if "manifest.json" not in names:
        raise refuse(
            f"there is no manifest.json, so this is not a `docker save` archive; {SAVE_HINT}"
        )
    manifest = _json(small, "manifest.json", "the manifest")
    if not isinstance(manifest, list) or not manifest:
        raise refuse("manifest.json lists no image")
    if len(manifest) != 1:
        raise refuse(
            f"the archive holds {len(manifest)} images; save exactly one: "
            "`docker save IMAGE:TAG -o image.tar`"
        )
    entry = manifest[0]
    if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
        raise refuse("manifest.json does not name the image's config")
    config_name: str = entry["Config"]
    layers = string_list(entry.get("Layers"))
    missing = [layer for layer in layers if _normalise(layer) not in names]
    if missing:
        raise refuse(f"layer {missing[0]!r} listed in manifest.json is missing; {SAVE_HINT}")
    raw_config = small.get(_normalise(config_name))
    run = check_image_config(_json(small, config_name, "the image config"), root_images=root_images)
    assert raw_config is not None  # _json above raised otherwise
    return ImageInfo(
        digest="sha256:" + hashlib.sha256(raw_config).hexdigest(),
        repo_tags=string_list(entry.get("RepoTags")),
        architecture=run.architecture,
        os=run.os,
        user=run.user,
        entrypoint=run.entrypoint,
        cmd=run.cmd,
        layer_count=len(layers),
    )
