"""``/output`` of a running container, read through its keeper with the engine's archive API.

A ``HEAD`` of the archive endpoint answers whether a path exists and what it
is (the engine's stat header) in a few milliseconds, so signals are polled
that way; only a prediction is fetched (``GET``, a one-member tar stream that
is unpacked here, regular files only, never more than the cap). The keeper
mounts the same ``/output`` volume and holds no other file system but its own
tiny image, so a link the container wrote cannot reach anything of the host.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import tarfile
import time
from pathlib import Path
from typing import IO, Any

import docker.errors
import docker.types
import requests.exceptions

from worker.runner.base import InfrastructureError, RunSpec
from worker.runner.channel import FileKind, FileStat, kind_words
from worker.runner.outbox import _ChunkReader

# Go's os.FileMode type bits, as the engine's stat header carries them.
_MODE_DIR = 1 << 31
_MODE_SYMLINK = 1 << 27
_MODE_TYPE = _MODE_DIR | _MODE_SYMLINK | (1 << 26) | (1 << 25) | (1 << 24) | (1 << 21) | (1 << 19)

_CHUNK = 1024 * 1024


def inbox_mounts(spec: RunSpec) -> list[Any]:
    """The read-only bind mount of the run's inbox, if it has one."""
    if spec.inbox_dir is None:
        return []
    source = str(spec.inbox_dir.resolve())
    return [docker.types.Mount(spec.inbox_mount, source, type="bind", read_only=True)]


def drive(
    spec: RunSpec, *, client: Any, container: Any, keeper: Any, started: float
) -> tuple[bool, float]:
    """Run the spec's driver (if any) against the started container.

    Returns
    -------
    tuple
        Whether the worker is done with the container (stopping it then is no
        failure), and how long to wait for it to exit now: what is left of the
        wall-clock limit, at most the grace the driver gave.
    """
    deadline = started + spec.limits.wall_seconds
    if spec.driver is None:
        return False, spec.limits.wall_seconds
    channel = DockerChannel(client=client, container=container, keeper=keeper, deadline=deadline)
    grace = spec.driver(channel)
    wait_s = max(0.1, deadline - time.monotonic())
    return (False, wait_s) if grace is None else (True, max(0.1, min(wait_s, grace)))


def _kind(mode: int) -> FileKind:
    """The kind of file an engine stat mode names.

    Examples
    --------
    >>> _kind(0o644), _kind(_MODE_DIR | 0o755), _kind(_MODE_SYMLINK | 0o777), _kind(1 << 25)
    ('file', 'directory', 'symlink', 'other')
    """
    if mode & _MODE_DIR:
        return "directory"
    if mode & _MODE_SYMLINK:
        return "symlink"
    return "other" if mode & _MODE_TYPE else "file"


class DockerChannel:
    """:class:`~worker.runner.channel.RunChannel` over the keeper of a run's ``/output``."""

    def __init__(self, *, client: Any, container: Any, keeper: Any, deadline: float) -> None:
        self._client = client
        self._container = container
        self._keeper = keeper
        self._deadline = deadline

    @property
    def deadline(self) -> float:
        """When the run's wall-clock limit ends (``time.monotonic()``)."""
        return self._deadline

    def running(self) -> bool:
        """Whether the container is still running."""
        try:
            self._container.reload()
        except (docker.errors.DockerException, requests.exceptions.RequestException) as exc:
            raise InfrastructureError(f"Docker engine error while watching the run: {exc}") from exc
        return bool(self._container.status == "running")

    def stat(self, path: str) -> FileStat | None:
        """The engine's stat of ``path`` (a final link is not followed), or ``None``."""
        api = self._client.api
        try:
            # The SDK has no call for the archive endpoint's HEAD (a stat without the content).
            response = api.head(
                api._url("/containers/{0}/archive", self._keeper.id), params={"path": path}
            )
        except requests.exceptions.RequestException as exc:
            raise InfrastructureError(f"Docker engine error while reading {path}: {exc}") from exc
        if response.status_code == 404:
            return None
        if response.status_code >= 500:
            raise InfrastructureError(
                f"Docker engine error while reading {path}: {response.status_code} {response.text}"
            )
        if response.status_code != 200:
            return FileStat(kind="other", size=0)  # e.g. a path through a non-folder
        try:
            raw = base64.b64decode(response.headers["X-Docker-Container-Path-Stat"])
            data = json.loads(raw)
            return FileStat(kind=_kind(int(data["mode"])), size=int(data["size"]))
        except (KeyError, ValueError, TypeError, binascii.Error) as exc:
            raise InfrastructureError(f"the engine's stat of {path} is unreadable: {exc}") from exc

    def fetch(self, path: str, destination: Path, *, max_bytes: int) -> str | None:
        """Copy the regular file ``path`` to ``destination`` (at most ``max_bytes``)."""
        name = path.rsplit("/", 1)[-1]
        failed = f"Docker engine error while reading {path}"
        try:
            chunks, _ = self._keeper.get_archive(path)
        except docker.errors.NotFound:
            return f"{name} is not there"
        except docker.errors.APIError as exc:
            if exc.is_server_error():
                raise InfrastructureError(f"{failed}: {exc}") from exc
            return f"{name} cannot be read: {exc.explanation or exc}"
        except requests.exceptions.RequestException as exc:
            raise InfrastructureError(f"{failed}: {exc}") from exc
        try:
            return _unpack_one(chunks, name=name, destination=destination, max_bytes=max_bytes)
        except (tarfile.TarError, requests.exceptions.RequestException) as exc:
            destination.unlink(missing_ok=True)
            raise InfrastructureError(f"{failed}: {exc}") from exc


def _unpack_one(chunks: Any, *, name: str, destination: Path, max_bytes: int) -> str | None:
    """Write the one regular file of an archive stream; otherwise say why not."""
    stream: IO[bytes] = io.BufferedReader(_ChunkReader(chunks), buffer_size=_CHUNK)
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        member = tar.next()
        if member is None:
            return f"{name} is not there"
        if not member.isreg():
            kind: FileKind = (
                "symlink"
                if member.issym() or member.islnk()
                else "directory"
                if member.isdir()
                else "other"
            )
            return f"{name} is {kind_words(kind)}; write the prediction as a file"
        if member.size > max_bytes:
            return f"{name} is {member.size} bytes, more than the {max_bytes} allowed"
        source = tar.extractfile(member)
        if source is None:  # pragma: no cover - isreg() members always have data
            return f"{name} cannot be read"
        destination.parent.mkdir(parents=True, exist_ok=True)
        with destination.open("xb") as target:
            while block := source.read(_CHUNK):
                target.write(block)
    return None
