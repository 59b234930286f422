"""Small container images built without any registry.

Images are made with ``docker import`` from a root filesystem assembled here
with :mod:`tarfile`: the host's static ``/bin/busybox`` (Debian's
``busybox-static``, installed by ``scripts/services``) with its applet links, a
``/etc/passwd`` naming a non-root user, and whatever files a test adds. Each
distinct image is imported once: its tag is a hash of everything that goes into
it, so a second request (in this session or a later one) reuses it.
"""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from backend.submissions.image_archive import inspect_image_archive

BUSYBOX = Path("/bin/busybox")
REPOSITORY = "podium-test/img"
#: The uid:gid the images run as unless a test asks otherwise.
USER = "1000:1000"

_PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n"
_GROUP = "root:x:0:\napp:x:1000:\n"


@cache
def _busybox_applets() -> tuple[str, ...]:
    if not BUSYBOX.is_file():
        raise RuntimeError(
            f"{BUSYBOX} is missing: install Debian's busybox-static (scripts/services does)"
        )
    listing = subprocess.run(
        [str(BUSYBOX), "--list-full"], check=True, capture_output=True, text=True
    ).stdout
    return tuple(line.strip() for line in listing.splitlines() if line.strip())


def _add(tar: tarfile.TarFile, name: str, data: bytes, *, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def _add_dir(tar: tarfile.TarFile, name: str, *, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = mode
    tar.addfile(info)


def rootfs_tarball(files: Mapping[str, bytes | str]) -> bytes:
    """A root filesystem tarball: busybox, its applet links, passwd, plus ``files``.

    Parameters
    ----------
    files
        Absolute path in the image -> content. Paths ending in ``.sh`` or under
        ``/bin`` are made executable.
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for directory in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "home"):
            _add_dir(tar, directory)
        for directory in ("tmp", "input", "output", "home/app"):
            _add_dir(tar, directory, mode=0o1777 if directory == "tmp" else 0o755)
        _add(tar, "bin/busybox", BUSYBOX.read_bytes(), mode=0o755)
        for applet in _busybox_applets():
            path = applet.lstrip("/")
            if path == "bin/busybox":
                continue
            link = tarfile.TarInfo(path)
            link.type = tarfile.SYMTYPE
            link.linkname = "/bin/busybox"
            tar.addfile(link)
        _add(tar, "etc/passwd", _PASSWD.encode())
        _add(tar, "etc/group", _GROUP.encode())
        for name, content in sorted(files.items()):
            data = content.encode() if isinstance(content, str) else content
            executable = name.endswith(".sh") or name.startswith("/bin/")
            _add(tar, name.lstrip("/"), data, mode=0o755 if executable else 0o644)
    return buffer.getvalue()


def build_image(
    client: Any,
    *,
    files: Mapping[str, bytes | str] | None = None,
    entrypoint: Sequence[str] | None = None,
    cmd: Sequence[str] | None = None,
    user: str | None = USER,
    workdir: str = "/",
    env: Mapping[str, str] | None = None,
    volumes: Sequence[str] = (),
) -> str:
    """Import (once) an image and return its reference ``podium-test/img:<hash>``.

    Parameters
    ----------
    client
        A Docker SDK client.
    files
        Extra files for the root filesystem (see :func:`rootfs_tarball`).
    entrypoint, cmd
        The image's ENTRYPOINT and CMD, exec form.
    user
        The image's USER (``None`` leaves it unset, i.e. root).
    workdir
        The image's WORKDIR.
    env
        The image's ENV.
    volumes
        The image's VOLUME paths.
    """
    files = dict(files or {})
    changes = [f"WORKDIR {workdir}"]
    if user is not None:
        changes.append(f"USER {user}")
    if entrypoint is not None:
        changes.append(f"ENTRYPOINT {json.dumps(list(entrypoint))}")
    if cmd is not None:
        changes.append(f"CMD {json.dumps(list(cmd))}")
    for key, value in sorted((env or {}).items()):
        changes.append(f"ENV {key}={value}")
    if volumes:
        changes.append(f"VOLUME {json.dumps(list(volumes))}")
    digest = hashlib.sha256()
    digest.update(hashlib.sha256(BUSYBOX.read_bytes()).digest())
    for name, content in sorted(files.items()):
        data = content.encode() if isinstance(content, str) else content
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    digest.update(json.dumps(changes).encode())
    reference = f"{REPOSITORY}:{digest.hexdigest()[:20]}"
    try:
        client.images.get(reference)
        return reference
    except Exception as exc:
        if type(exc).__name__ != "ImageNotFound":
            raise
    repository, tag = reference.split(":")
    client.api.import_image_from_data(
        rootfs_tarball(files), repository=repository, tag=tag, changes=changes
    )
    client.images.get(reference)  # fails loudly if the import did not produce it
    return reference


def save_image(client: Any, reference: str, destination: Path) -> str:
    """``docker save`` an image (unnamed, as a submission is) and return the ID the API gives it.

    That is the digest of the image's config, read from the tarball as the API
    reads it: on the classic store the engine's image ID, on the containerd
    store not (there the engine's ID is the manifest's digest).

    Parameters
    ----------
    client
        A Docker SDK client.
    reference
        Image reference or ID.
    destination
        Where the tarball is written.
    """
    image = client.images.get(reference)
    with destination.open("wb") as out:
        for chunk in image.save(named=False):
            out.write(chunk)
    return inspect_image_archive(destination, root_images="run_unprivileged").digest


def shell_image(client: Any, script: str, *, user: str | None = USER) -> str:
    """An image whose entrypoint runs ``script`` with busybox ``sh``."""
    return build_image(
        client,
        files={"/run.sh": "#!/bin/sh\n" + script + "\n"},
        entrypoint=["/bin/sh", "/run.sh"],
        user=user,
    )
