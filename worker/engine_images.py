"""Pulling and loading images through the engine, streamed and never cut while they progress.

A 15 GB image takes many minutes to pull or load. Neither call has a total
time limit here: each is a streamed request whose only timeout is the gap
between two bytes (the engine reports progress as layers arrive and unpack),
so a transfer is stopped only when it has made no progress for ``stall_s``.
Every failure is :class:`~worker.runner.base.InfrastructureError`: the image
was checked when it was submitted, so a pull or load that fails is ours.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import docker.errors
import requests.exceptions

from worker.runner.base import InfrastructureError

_TRANSPORT_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException, OSError)


class HashingReader:
    """A file read once, front to back, hashing what it hands out (the upload body)."""

    def __init__(self, stream: BinaryIO, size: int) -> None:
        self._stream = stream
        self._size = size
        self.sha256 = hashlib.sha256()
        self.sent = 0

    def __len__(self) -> int:
        return self._size

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(1024 * 1024 if size is None or size < 0 else size)
        self.sha256.update(data)
        self.sent += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(1024 * 1024):
            yield chunk


def _messages(api: Any, response: Any, doing: str) -> Iterator[dict[str, Any]]:
    """The engine's JSON progress stream; an ``error`` message raises."""
    try:
        api._raise_for_status(response)
        for message in api._stream_helper(response, decode=True):
            if not isinstance(message, dict):
                continue
            if message.get("error") or message.get("errorDetail"):
                detail = message.get("error") or (message.get("errorDetail") or {}).get("message")
                raise InfrastructureError(f"the engine failed while {doing}: {detail}")
            yield message
    except _TRANSPORT_ERRORS as exc:
        raise InfrastructureError(f"the engine failed while {doing}: {exc}") from exc
    finally:
        response.close()


def registry_auth_header(token: str) -> str:
    """``X-Registry-Auth`` carrying a bearer token for the registry (``registrytoken``).

    The engine sends it to the registry as ``Authorization: Bearer`` and
    never asks the token server itself.
    """
    return base64.urlsafe_b64encode(json.dumps({"registrytoken": token}).encode()).decode()


@dataclass(frozen=True, slots=True)
class PullSummary:
    """What a pull fetched: layers downloaded, and layers the engine had already."""

    downloaded: int
    present: int


def pull(client: Any, reference: str, *, token: str, stall_s: float) -> PullSummary:
    """Pull ``host/repository@sha256:…``.

    The engine itself checks that what it fetched hashes to the digest.
    """
    api = client.api
    name, _, digest = reference.partition("@")
    doing = f"pulling {reference}"
    try:
        response = api._post(
            api._url("/images/create"),
            params={"fromImage": name, "tag": digest},
            headers={"X-Registry-Auth": registry_auth_header(token)},
            stream=True,
            timeout=(stall_s, stall_s),
        )
    except _TRANSPORT_ERRORS as exc:
        raise InfrastructureError(f"the engine failed while {doing}: {exc}") from exc
    downloaded: set[str] = set()
    present: set[str] = set()
    for message in _messages(api, response, doing):
        status, layer = str(message.get("status") or ""), str(message.get("id") or "")
        if status == "Already exists":
            present.add(layer)
        elif status in {"Pull complete", "Download complete"}:
            downloaded.add(layer)
    return PullSummary(downloaded=len(downloaded), present=len(present - downloaded))


def load(client: Any, tarball: Path, *, expected_sha256: str | None, stall_s: float) -> list[str]:
    """``docker load`` a tarball, checking on the way that it is the stored file.

    Returns the references the engine reports (``sha256:…`` image IDs or names).

    Raises
    ------
    InfrastructureError
        The engine failed, or the file's sha256 is not the one recorded at
        upload (anything it loaded is removed again).
    """
    api = client.api
    doing = f"loading {tarball.name}"
    loaded: list[str] = []
    with tarball.open("rb") as stream:
        body = HashingReader(stream, tarball.stat().st_size)
        try:
            response = api._post(
                api._url("/images/load"),
                data=body,
                params={"quiet": False},
                headers={"Content-Type": "application/x-tar"},
                stream=True,
                timeout=(stall_s, stall_s),
            )
        except _TRANSPORT_ERRORS as exc:
            raise InfrastructureError(f"the engine failed while {doing}: {exc}") from exc
        for message in _messages(api, response, doing):
            text = str(message.get("stream") or "")
            for prefix in ("Loaded image ID: ", "Loaded image: "):
                if text.startswith(prefix):
                    loaded.append(text[len(prefix) :].strip())
    if expected_sha256 is not None and body.sha256.hexdigest() != expected_sha256:
        for reference in loaded:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(reference, noprune=False)
        raise InfrastructureError(
            f"the stored tarball {tarball.name} is not the file that was uploaded (sha256 "
            f"{body.sha256.hexdigest()[:16]}…, expected {expected_sha256[:16]}…): it was "
            "altered or corrupted"
        )
    if not loaded:
        raise InfrastructureError(f"the engine loaded nothing from {tarball.name}")
    return loaded
