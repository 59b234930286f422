"""Minimal ``docker save`` archives built in Python (no Docker engine needed)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def image_config(
    *,
    architecture: str = "amd64",
    os: str = "linux",
    user: str = "1000:1000",
    entrypoint: list[str] | None = None,
    cmd: list[str] | None = None,
) -> dict[str, Any]:
    run: dict[str, Any] = {"User": user, "Entrypoint": entrypoint, "Cmd": cmd}
    if entrypoint is None and cmd is None:
        run["Cmd"] = ["/bin/predict"]
    return {"architecture": architecture, "os": os, "config": run, "rootfs": {"type": "layers"}}


def image_tarball(
    *,
    config: dict[str, Any] | None = None,
    images: int = 1,
    layer_bytes: int = 1024,
    gzip_it: bool = False,
    manifest_first: bool = False,
    extra_members: Iterable[tuple[str, bytes]] = (),
) -> bytes:
    """A docker-save archive: manifest.json, config json, one layer tar."""
    config_bytes = json.dumps(config or image_config()).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as inner:
        _add(inner, "bin/predict", b"x" * layer_bytes)
    manifest = [
        {"Config": config_name, "RepoTags": [f"team/model:{i}"], "Layers": ["layer0/layer.tar"]}
        for i in range(images)
    ]
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        if manifest_first:
            _add(archive, "manifest.json", json.dumps(manifest).encode())
        _add(archive, config_name, config_bytes)
        _add(archive, "layer0/layer.tar", layer.getvalue())
        for name, data in extra_members:
            _add(archive, name, data)
        if not manifest_first:
            _add(archive, "manifest.json", json.dumps(manifest).encode())
    data = buffer.getvalue()
    return gzip.compress(data, compresslevel=1) if gzip_it else data


class _Repeat:
    """A read-only file of ``total`` bytes repeating ``block`` (nothing held but the block)."""

    def __init__(self, block: bytes, total: int) -> None:
        self.block = block
        self.remaining = total

    def read(self, n: int = -1) -> bytes:
        n = self.remaining if n < 0 else min(n, self.remaining)
        out = (
            (self.block * (n // len(self.block) + 1))[:n] if n > len(self.block) else self.block[:n]
        )
        self.remaining -= n
        return out


def write_large_image(path: Path, *, size_bytes: int) -> None:
    """A valid image tarball of about ``size_bytes`` (one big incompressible-ish layer)."""
    config_bytes = json.dumps(image_config()).encode()
    config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
    block = hashlib.sha256(b"seed").digest() * 32768  # 1 MiB
    with tarfile.open(path, mode="w") as archive:
        _add(archive, config_name, config_bytes)
        info = tarfile.TarInfo("layer0/layer.tar")
        info.size = max(size_bytes - 64 * 1024, 1024 * 1024) // len(block) * len(block)

        archive.addfile(info, _Repeat(block, info.size))
        manifest = [{"Config": config_name, "RepoTags": ["big:1"], "Layers": ["layer0/layer.tar"]}]
        _add(archive, "manifest.json", json.dumps(manifest).encode())


def tar_gz(members: Iterable[tuple[str, bytes]], *, links: Iterable[tuple[str, str]] = ()) -> bytes:
    """A .tar.gz with the given files and symlinks (name, target)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members:
            _add(archive, name, data)
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return buffer.getvalue()


def zip_bytes(
    members: Iterable[tuple[str, bytes]], *, links: Iterable[tuple[str, str]] = ()
) -> bytes:
    """A .zip with the given files and symlinks."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            archive.writestr(name, data)
        for name, target in links:
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16
            archive.writestr(info, target)
    return buffer.getvalue()
