"""Pulling images through the engine, streamed and never cut while they progress.

A 15 GB image takes many minutes to pull or load. Neither call has a total
time limit here: a transfer is stopped only when it has made no progress for
``stall_s``. Two watches say so: the socket's read timeout (the classic store
reports each change of a layer and is silent otherwise), and, for pulls, the
progress itself (the containerd store repeats an unchanged ``Downloading``
line every 100 ms while a stalled download waits, so a busy stream is not
proof of progress).

Every failure of a pull is :class:`~worker.runner.base.InfrastructureError`:
the image was checked when it was submitted, so a pull that fails is ours.
Tarballs go through :mod:`worker.engine_load`, on the same streaming.
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import docker.errors
import requests.exceptions
import urllib3.exceptions

from worker.runner.base import InfrastructureError

#: What a broken or timed-out engine connection raises (the SDK streams read
#: the raw urllib3 response, whose read timeout is not a ``requests`` error).
TRANSPORT_ERRORS = (
    docker.errors.DockerException,
    requests.exceptions.RequestException,
    urllib3.exceptions.HTTPError,
    OSError,
)


class EngineMessageError(InfrastructureError):
    """The engine answered a pull or load with an error message (``detail``)."""

    def __init__(self, message: str, *, detail: str) -> None:
        super().__init__(message)
        self.detail = detail


def engine_messages(api: Any, response: Any, doing: str) -> Generator[dict[str, Any], None, None]:
    """The engine's JSON progress stream; an ``error`` message raises :class:`EngineMessageError`.

    The response is closed when the stream ends or is abandoned.
    """
    try:
        api._raise_for_status(response)
        for message in api._stream_helper(response, decode=True):
            if not isinstance(message, dict):
                continue
            if message.get("error") or message.get("errorDetail"):
                detail = message.get("error") or (message.get("errorDetail") or {}).get("message")
                raise EngineMessageError(
                    f"the engine failed while {doing}: {detail}", detail=str(detail)
                )
            yield message
    except TRANSPORT_ERRORS as exc:
        raise InfrastructureError(f"the engine failed while {doing}: {exc}") from exc
    finally:
        response.close()


def registry_auth_header(token: str) -> str:
    """``X-Registry-Auth`` carrying a bearer token for the registry (``registrytoken``).

    The engine sends it to the registry as ``Authorization: Bearer`` and
    never asks the token server itself.
    """
    return base64.urlsafe_b64encode(json.dumps({"registrytoken": token}).encode()).decode()


class ProgressWatch:
    """Raises when a transfer's progress has not changed for ``stall_s``.

    Progress is a layer changing state or byte count; a message that repeats
    the last one is not progress.

    Examples
    --------
    >>> clock = iter([0.0, 1.0, 2.5, 3.5]).__next__
    >>> watch = ProgressWatch(2.0, doing="pulling x", clock=clock)
    >>> watch.saw({"id": "a", "status": "Downloading", "progressDetail": {"current": 1}})
    >>> watch.saw({"id": "a", "status": "Downloading", "progressDetail": {"current": 1}})
    >>> watch.saw({"id": "a", "status": "Downloading", "progressDetail": {"current": 1}})
    Traceback (most recent call last):
    ...
    worker.runner.base.InfrastructureError: pulling x made no progress for 2.5 s (limit 2 s)
    """

    def __init__(self, stall_s: float, *, doing: str, clock: Any = time.monotonic) -> None:
        self._stall_s = stall_s
        self._doing = doing
        self._clock = clock
        self._seen: set[tuple[str, str, object]] = set()
        self._last = clock()

    def saw(self, message: dict[str, Any]) -> None:
        """Note ``message``; raise when nothing has moved for longer than the limit."""
        detail = message.get("progressDetail") or {}
        state = (
            str(message.get("id") or ""),
            str(message.get("status") or ""),
            detail.get("current") if isinstance(detail, dict) else None,
        )
        now = self._clock()
        if state not in self._seen:
            self._seen.add(state)
            self._last = now
        elif now - self._last > self._stall_s:
            raise InfrastructureError(
                f"{self._doing} made no progress for {now - self._last:.1f} s "
                f"(limit {self._stall_s:g} s)"
            )


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
    except TRANSPORT_ERRORS as exc:
        raise InfrastructureError(f"the engine failed while {doing}: {exc}") from exc
    downloaded: set[str] = set()
    present: set[str] = set()
    watch = ProgressWatch(stall_s, doing=doing)
    # closing(): a stall raised here closes the connection, which cancels the engine's pull.
    with contextlib.closing(engine_messages(api, response, doing)) as messages:
        for message in messages:
            watch.saw(message)
            status, layer = str(message.get("status") or ""), str(message.get("id") or "")
            if status == "Already exists":
                present.add(layer)
            elif status in {"Pull complete", "Download complete"}:
                downloaded.add(layer)
    return PullSummary(downloaded=len(downloaded), present=len(present - downloaded))
