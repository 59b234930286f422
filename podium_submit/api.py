"""Podium's API over plain ``http.client``: JSON requests, streamed uploads, following a run."""

from __future__ import annotations

import http.client
import json
import sys
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

#: States after which a submission changes no more.
TERMINAL = frozenset({"succeeded", "failed", "failed_preflight", "error", "cancelled"})
CHUNK = 1024 * 1024


class SubmitError(Exception):
    """A failure with the message to show and the exit status to end with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Progress:
    """Reports on stderr how much of a body has been sent, every whole percent."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.sent = 0
        self._shown = -1.0
        self._last = 0.0

    def add(self, count: int) -> None:
        """Count ``count`` more bytes sent."""
        self.sent += count
        if self.total:
            percent = 100.0 * self.sent / self.total
            if percent - self._shown >= 1.0 or (percent >= 100.0 > self._shown):
                self._shown = percent
                print(
                    f"\ruploading {self.sent / 1e6:,.1f} MB ({percent:.0f}%)",
                    end="",
                    file=sys.stderr,
                )
        elif time.monotonic() - self._last >= 0.5:
            self._last = time.monotonic()
            print(f"\ruploading {self.sent / 1e6:,.1f} MB", end="", file=sys.stderr)

    def done(self) -> None:
        """End the progress line."""
        if not self.total:
            print(f"\ruploading {self.sent / 1e6:,.1f} MB (done)", end="", file=sys.stderr)
        print(file=sys.stderr)


class ProgressReader:
    """A file whose reads are counted (http.client reads the body through it)."""

    def __init__(self, stream: BinaryIO, progress: Progress) -> None:
        self._stream, self._progress = stream, progress

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._progress.add(len(data))
        return data


def counted(chunks: Iterable[bytes], progress: Progress) -> Iterator[bytes]:
    """``chunks`` passed through, counted."""
    for chunk in chunks:
        progress.add(len(chunk))
        yield chunk


class Api:
    """A Podium server reached at ``url`` with an API token."""

    def __init__(self, url: str, token: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise SubmitError(f"--url must look like https://podium.example.org, got {url!r}", 2)
        self.url = url.rstrip("/")
        self._parts = parts
        self.token = token

    def _connection(self) -> http.client.HTTPConnection:
        kind = (
            http.client.HTTPSConnection
            if self._parts.scheme == "https"
            else http.client.HTTPConnection
        )
        # No total time limit: a 15 GB upload takes as long as it takes; a silent
        # server is given up on after 10 minutes.
        return kind(self._parts.netloc, timeout=600, blocksize=CHUNK)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        chunked: bool = False,
    ) -> Any:
        """One request; the decoded JSON answer, or :class:`SubmitError` with the server's words."""
        connection = self._connection()
        sent = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        sent.update(headers or {})
        try:
            connection.request(
                method,
                self._parts.path.rstrip("/") + path,
                body=body,
                headers=sent,
                encode_chunked=chunked,
            )
            response = connection.getresponse()
            raw = response.read()
        except OSError as exc:
            raise SubmitError(f"cannot reach {self.url}: {exc}", 2) from exc
        finally:
            connection.close()
        try:
            answer = json.loads(raw) if raw else None
        except ValueError:
            answer = None
        if response.status >= 400:
            message = answer.get("message") if isinstance(answer, dict) else None
            text = message or raw.decode(errors="replace")[:500] or response.reason
            raise SubmitError(f"refused ({response.status}): {text}", 1)
        return answer

    def get(self, path: str) -> Any:
        """``GET path``."""
        return self.request("GET", path)

    def submit_reference(self, phase: int, reference: str) -> dict[str, Any]:
        """Submit a pushed image by its reference."""
        return _submission(
            self.request(
                "POST",
                f"/api/v1/phases/{phase}/submissions",
                body=json.dumps({"image": reference}).encode(),
                headers={"Content-Type": "application/json"},
            )
        )

    def upload(self, phase: int, stream: BinaryIO, *, size: int) -> dict[str, Any]:
        """Stream a tarball of known size."""
        progress = Progress(size)
        try:
            answer = self.request(
                "POST",
                f"/api/v1/phases/{phase}/submissions",
                body=ProgressReader(stream, progress),
                headers={
                    "Content-Type": "application/octet-stream",
                    "Content-Length": str(size),
                },
            )
        finally:
            progress.done()
        return _submission(answer)

    def upload_chunks(self, phase: int, chunks: Iterable[bytes]) -> dict[str, Any]:
        """Stream a tarball of unknown size (``docker save`` straight to the server)."""
        progress = Progress(None)
        try:
            answer = self.request(
                "POST",
                f"/api/v1/phases/{phase}/submissions",
                body=counted(chunks, progress),
                headers={"Content-Type": "application/octet-stream"},
                chunked=True,
            )
        finally:
            progress.done()
        return _submission(answer)

    def wait(self, submission: dict[str, Any], *, timeout: float) -> dict[str, Any]:
        """Poll until the submission ends or ``timeout`` seconds pass; prints each state."""
        deadline = time.monotonic() + timeout
        status = str(submission.get("status"))
        print(f"submission {submission['id']}: {status}", file=sys.stderr)
        while status not in TERMINAL:
            if time.monotonic() >= deadline:
                raise SubmitError(
                    f"submission {submission['id']} is still {status} after {timeout:g} s; "
                    f"follow it at {self.url}/api/v1/submissions/{submission['id']}",
                    3,
                )
            time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
            submission = self.get(f"/api/v1/submissions/{submission['id']}")
            if submission["status"] != status:
                status = str(submission["status"])
                print(f"submission {submission['id']}: {status}", file=sys.stderr)
        return submission


def _submission(answer: Any) -> dict[str, Any]:
    if not isinstance(answer, dict) or "id" not in answer:
        raise SubmitError(f"unexpected answer from the server: {answer!r}", 1)
    return answer
