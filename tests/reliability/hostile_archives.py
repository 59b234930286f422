"""Archives no well-behaved tool writes: bombs, links, devices, very long names."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zipfile
import zlib
from collections.abc import Iterable

from tests.backend.tarballs import image_config

_ZERO_BLOCK = 16 << 20


def tar_header(name: str, size: int) -> bytes:
    """The 512-byte (or, for long names, longer PAX) header of one regular file."""
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=tarfile.PAX_FORMAT)


def gzip_bomb_tar(
    *,
    member: str,
    expanded: int,
    before: Iterable[tuple[str, bytes]] = (),
    single_member: bool = False,
) -> bytes:
    """A ``.tar.gz`` with ``member`` holding ``expanded`` zero bytes, really compressed.

    By default concatenated gzip members of one compressed 16 MiB zero block (a
    GiB of expansion costs one small compression); ``single_member`` writes one
    gzip stream, as ``tar czf`` does (compressing every byte: slower to build).
    """
    head = io.BytesIO()
    with tarfile.open(fileobj=head, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in before:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    start = _strip_end(head.getvalue()) + tar_header(member, expanded)
    block = b"\0" * _ZERO_BLOCK
    end = b"\0" * ((-expanded) % 512 + 1024)
    if single_member:
        stream = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: gzip framing
        parts = [stream.compress(start)]
        parts += [stream.compress(block) for _ in range(expanded // _ZERO_BLOCK)]
        parts += [stream.compress(block[: expanded % _ZERO_BLOCK] + end), stream.flush()]
        return b"".join(parts)
    parts = [gzip.compress(start, 9)]
    parts += [gzip.compress(block, 9)] * (expanded // _ZERO_BLOCK)
    parts.append(gzip.compress(block[: expanded % _ZERO_BLOCK] + end, 9))
    return b"".join(parts)


def _strip_end(tar: bytes) -> bytes:
    """A tar stream without its trailing zero blocks, so more members can follow."""
    end = len(tar)
    while end >= 512 and tar[end - 512 : end] == b"\0" * 512:
        end -= 512
    return tar[:end]


def zip_bomb(*, member: str, expanded: int) -> bytes:
    """A ``.zip`` with one deflated member of ``expanded`` zero bytes."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(member, "w", force_zip64=True) as out,
    ):
        chunk = b"\0" * (1 << 20)
        for _ in range(expanded // len(chunk)):
            out.write(chunk)
    return buffer.getvalue()


def special_tar(
    members: Iterable[tuple[str, bytes]],
    *,
    kind: bytes,
    name: str,
    linkname: str = "",
    gzip_it: bool = True,
) -> bytes:
    """A tar (gzip by default) with regular ``members`` plus one member of type ``kind``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for member_name, data in members:
            info = tarfile.TarInfo(member_name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        special = tarfile.TarInfo(name)
        special.type = kind
        special.linkname = linkname
        special.devmajor, special.devminor = 1, 3  # /dev/null
        archive.addfile(special)
    data = buffer.getvalue()
    return gzip.compress(data, 1) if gzip_it else data


def image_members() -> list[tuple[str, bytes]]:
    """The members of a minimal valid ``docker save`` archive."""
    config = json.dumps(image_config()).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as inner:
        info = tarfile.TarInfo("bin/predict")
        info.size = 4
        inner.addfile(info, io.BytesIO(b"#!/x"))
    manifest = [{"Config": config_name, "RepoTags": ["t/m:1"], "Layers": ["layer0/layer.tar"]}]
    return [
        (config_name, config),
        ("layer0/layer.tar", layer.getvalue()),
        ("manifest.json", json.dumps(manifest).encode()),
    ]
