"""The size-capped ``/output`` file system and how its files get out of it.

``/output`` is a Docker volume of the local driver backed by a tmpfs with
``size=`` the output cap, so a write past the cap fails with ENOSPC inside the
container and never touches the host's disk. A tmpfs volume is unmounted (and
its content lost) when the last container using it stops, so a *keeper*
container mounts it too and stays up while the submission runs; the files are
then read through the keeper with the engine's archive API, as a tar stream
that this module unpacks itself: only regular files at the top level are
written to the host, nothing is ever followed or created outside the target
directory.

The keeper's image is built here, without a registry: one static x86-64 ELF
of 129 bytes that loops on ``pause(2)`` (the idea of Kubernetes' pause
container), imported with ``docker import``.
"""

from __future__ import annotations

import io
import re
import struct
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

import docker.errors

#: Image tag of the keeper; bump the suffix when the binary changes.
KEEPER_IMAGE = "podium/keeper:pause-1"

#: File names copied out of /output; anything else is reported, not copied.
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,250}$")

_ARCHIVE_CHUNK = 1024 * 1024

#: Entries of /output read at most (a container may create millions of empty files).
MAX_ENTRIES = 10_000


def pause_elf_x86_64() -> bytes:
    """A static x86-64 Linux executable that sleeps forever in ``pause(2)``.

    Examples
    --------
    >>> elf = pause_elf_x86_64()
    >>> elf[:4], len(elf)
    (b'\\x7fELF', 129)
    """
    code = bytes.fromhex("b8220000000f05ebf7")  # mov eax, 34 (pause); syscall; jmp back
    base = 0x400000
    header_size, program_header_size = 64, 56
    entry = base + header_size + program_header_size
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)  # 64-bit, little-endian, SysV
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, 0x3E, 1, entry, header_size, 0, 0, header_size,
        program_header_size, 1, 0, 0, 0,
    )  # fmt: skip
    size = header_size + program_header_size + len(code)
    program_header = struct.pack("<IIQQQQQQ", 1, 5, 0, base, base, size, size, 0x1000)
    return header + program_header + code


def keeper_rootfs() -> bytes:
    """The keeper image's root filesystem as a tarball: ``/pause`` alone."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        binary = pause_elf_x86_64()
        info = tarfile.TarInfo("pause")
        info.size = len(binary)
        info.mode = 0o755
        tar.addfile(info, io.BytesIO(binary))
    return buffer.getvalue()


def ensure_keeper_image(client: Any) -> str:
    """Import the keeper image unless the engine already has it; return its tag."""
    try:
        client.images.get(KEEPER_IMAGE)
        return KEEPER_IMAGE
    except docker.errors.ImageNotFound:
        pass
    architecture = str(client.info().get("Architecture", ""))
    if architecture not in {"x86_64", "amd64"}:
        raise RuntimeError(
            f"the output keeper is built for x86-64 hosts; this engine runs {architecture!r}"
        )
    repository, tag = KEEPER_IMAGE.split(":")
    client.api.import_image_from_data(
        keeper_rootfs(),
        repository=repository,
        tag=tag,
        changes=['ENTRYPOINT ["/pause"]', "USER 65534:65534"],
    )
    return KEEPER_IMAGE


class _ChunkReader(io.RawIOBase):
    """A file object over an iterator of byte chunks (the archive API's stream)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            try:
                self._pending = next(self._chunks)
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


def _kind(member: tarfile.TarInfo) -> str:
    if member.issym():
        return f"a symbolic link (to {member.linkname!r})"
    if member.islnk():
        return "a hard link"
    if member.isdir():
        return "a directory"
    if member.ischr() or member.isblk():
        return "a device"
    if member.isfifo():
        return "a named pipe"
    return "not a regular file"


def unpack_outputs(
    chunks: Iterable[bytes], *, destination: Path, max_total_bytes: int, depth: int = 1
) -> list[str]:
    """Write the regular files of an ``/output`` archive to ``destination``.

    Parameters
    ----------
    chunks
        The tar stream of the directory (member names start with ``output/``).
    destination
        An existing, empty directory on the host.
    max_total_bytes
        The output cap; a stream claiming more is refused (the tmpfs cannot
        hold more, so this only guards against a misbehaving engine).
    depth
        1: only the top-level files; 2: also the files in top-level folders
        (``/output/<case>/<file>``, an interactive phase's layout). Folders
        are created here, never followed; deeper entries are reported.

    Returns
    -------
    list of str
        One sentence per entry that was not copied, for the team.
    """
    notes: list[str] = []
    written = 0
    stream: IO[bytes] = io.BufferedReader(_ChunkReader(chunks), buffer_size=_ARCHIVE_CHUNK)
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for count, member in enumerate(tar):
            if count >= MAX_ENTRIES:
                notes.append(
                    f"/output holds more than {MAX_ENTRIES} entries; the rest were not read."
                )
                break
            parts = member.name.strip("/").split("/")[1:]
            if not parts or len(parts) > depth:
                continue  # the output directory itself, or inside a folder reported itself
            name = "/".join(parts)
            if not all(SAFE_NAME.match(p) for p in parts):
                notes.append(
                    f"/output/{name!r} was ignored: file and folder names may only use "
                    "letters, digits, '.', '_' and '-'."
                )
                continue
            target = destination.joinpath(*parts)
            if member.isdir() and len(parts) < depth:
                target.mkdir(exist_ok=True)  # a folder the layout has; its files follow
                continue
            if not member.isreg():
                notes.append(f"/output/{name} was ignored: it is {_kind(member)}.")
                continue
            if not target.parent.is_dir():
                continue  # in a folder that was not copied (and was reported)
            written += member.size
            if written > max_total_bytes:
                raise RuntimeError(
                    f"the /output archive holds more than the cap of {max_total_bytes} bytes"
                )
            source = tar.extractfile(member)
            if source is None:  # pragma: no cover - isreg() members always have data
                continue
            with target.open("xb") as out:
                while block := source.read(_ARCHIVE_CHUNK):
                    out.write(block)
    return notes
