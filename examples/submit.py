#!/usr/bin/env python3
"""Upload a container image to a Podium phase, and optionally wait for its result.

    python3 examples/submit.py model.tar.gz --phase 3 --url https://podium.example.org
    python3 examples/submit.py model.tar.gz --phase 3 --wait

The token comes from ``--token`` or ``PODIUM_TOKEN``, the server from ``--url`` or
``PODIUM_URL``. The tarball is streamed (a 20 GB image never sits in memory) with a
progress line on stderr; the accepted submission is printed as JSON on stdout.

Exit status: 0 accepted (or, with ``--wait``, succeeded); 1 refused or failed, with
the server's message; 2 bad arguments or an unreachable server; 3 ``--wait`` ran out
of time while the submission was still in progress.

Uses only the Python standard library, so it runs wherever ``docker save`` does.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any, BinaryIO

TERMINAL = {"succeeded", "failed", "failed_preflight", "error", "cancelled"}
CHUNK = 1024 * 1024


class SubmitError(Exception):
    """A failure with the message to show and the exit status to end with."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Progress:
    """A file reader that reports how much of it has been read (sent)."""

    def __init__(self, stream: BinaryIO, total: int) -> None:
        self._stream, self._total, self._sent, self._shown = stream, total, 0, -1.0

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._sent += len(data)
        percent = 100.0 * self._sent / self._total if self._total else 100.0
        # Every whole percent, and 100% once (http.client reads once more at the end).
        if percent - self._shown >= 1.0 or (percent >= 100.0 > self._shown):
            self._shown = percent
            print(
                f"\ruploading {self._sent / 1e6:,.1f} MB ({percent:.0f}%)", end="", file=sys.stderr
            )
        return data


def _connection(url: str) -> tuple[http.client.HTTPConnection, str]:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise SubmitError(f"--url must look like https://podium.example.org, got {url!r}", 2)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    return kind(parts.netloc, timeout=600, blocksize=CHUNK), parts.path.rstrip("/")


def _request(
    url: str, method: str, path: str, *, token: str, body: Any = None, length: int | None = None
) -> Any:
    """One request; the decoded JSON answer, or a SubmitError with the server's message."""
    connection, prefix = _connection(url)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    if length is not None:
        headers["Content-Type"] = "application/octet-stream"
        headers["Content-Length"] = str(length)
    try:
        connection.request(method, prefix + path, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    except OSError as exc:
        raise SubmitError(f"cannot reach {url}: {exc}", 2) from exc
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


def upload(url: str, *, token: str, phase: int, tarball: Path) -> dict[str, Any]:
    """Stream ``tarball`` to the phase; returns the accepted submission."""
    size = tarball.stat().st_size
    with tarball.open("rb") as stream:
        try:
            submission = _request(
                url,
                "POST",
                f"/api/v1/phases/{phase}/submissions",
                token=token,
                body=Progress(stream, size),
                length=size,
            )
        finally:
            print(file=sys.stderr)
    if not isinstance(submission, dict) or "id" not in submission:
        raise SubmitError(f"unexpected answer from the server: {submission!r}", 1)
    return submission


def wait(url: str, *, token: str, submission: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Poll the submission until it ends or ``timeout`` seconds pass; prints each state."""
    deadline = time.monotonic() + timeout
    status = str(submission.get("status"))
    print(f"submission {submission['id']}: {status}", file=sys.stderr)
    while status not in TERMINAL:
        if time.monotonic() >= deadline:
            raise SubmitError(
                f"submission {submission['id']} is still {status} after {timeout:g} s; "
                f"follow it at {url}/api/v1/submissions/{submission['id']}",
                3,
            )
        time.sleep(min(5.0, max(0.0, deadline - time.monotonic())))
        submission = _request(url, "GET", f"/api/v1/submissions/{submission['id']}", token=token)
        if submission["status"] != status:
            status = str(submission["status"])
            print(f"submission {submission['id']}: {status}", file=sys.stderr)
    return submission


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("tarball", type=Path, help="the `docker save` output (.tar or .tar.gz)")
    parser.add_argument(
        "--phase", type=int, required=True, help="phase id (GET /api/v1/challenges/SLUG)"
    )
    parser.add_argument("--url", default=os.environ.get("PODIUM_URL", "http://127.0.0.1:8000"))
    parser.add_argument("--token", default=os.environ.get("PODIUM_TOKEN"))
    parser.add_argument("--wait", action="store_true", help="wait until the submission ends")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds --wait waits")
    args = parser.parse_args(argv)
    try:
        if not args.token:
            raise SubmitError("no API token: pass --token or set PODIUM_TOKEN", 2)
        if not args.tarball.is_file():
            raise SubmitError(
                f"{args.tarball} is not a file; make one with `docker save IMAGE:TAG -o image.tar`",
                2,
            )
        submission = upload(args.url, token=args.token, phase=args.phase, tarball=args.tarball)
        if args.wait:
            submission = wait(
                args.url, token=args.token, submission=submission, timeout=args.timeout
            )
        print(json.dumps(submission, indent=2))
        if args.wait and submission["status"] != "succeeded":
            reason = submission.get("failure_class") or submission["status"]
            raise SubmitError(f"{reason}: {submission.get('message', '')}", 1)
    except SubmitError as exc:
        print(f"submit: {exc}", file=sys.stderr)
        return exc.status
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
