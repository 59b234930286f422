"""The local ``docker`` command: find an image, log in, tag, push (with its progress), save."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator

from podium_submit.api import CHUNK, SubmitError

_DIGEST = re.compile(r"digest: (sha256:[0-9a-f]{64})")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def _docker(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", *args], input=stdin, capture_output=True, text=True, check=False
    )


def available() -> bool:
    """Whether a ``docker`` command is here and its engine answers."""
    if shutil.which("docker") is None:
        return False
    return _docker("version", "--format", "{{.Server.Version}}").returncode == 0


def has_image(reference: str) -> bool:
    """Whether the local engine holds ``reference``."""
    return _docker("image", "inspect", reference).returncode == 0


def split_name(reference: str) -> tuple[str, str]:
    """A repository name and tag for a local image, valid under a team's prefix.

    Examples
    --------
    >>> split_name("registry.example.org/Lab/My_Model:v3")
    ('my_model', 'v3')
    >>> split_name("sha256:" + "a" * 64)
    ('model', 'latest')
    >>> split_name("seg-net")
    ('seg-net', 'latest')
    """
    if reference.startswith("sha256:") or re.fullmatch(r"[0-9a-f]{12,64}", reference):
        return "model", "latest"
    name, tag = reference.split("@", 1)[0], "latest"
    if ":" in name.rsplit("/", 1)[-1]:
        name, tag = name.rsplit(":", 1)
    name = name.rsplit("/", 1)[-1].lower()
    name = re.sub(r"[^a-z0-9._-]+", "-", name)
    name = re.sub(r"[._-]{2,}", "-", name).strip("._-") or "model"
    return name, tag if _TAG.match(tag) else "latest"


def login(host: str, username: str, token: str) -> None:
    """``docker login`` with the API token on stdin."""
    done = _docker("login", host, "-u", username, "--password-stdin", stdin=token)
    if done.returncode != 0:
        raise SubmitError(f"docker login {host} failed: {done.stderr.strip()}", 1)


def tag(source: str, target: str) -> None:
    """``docker tag``."""
    done = _docker("tag", source, target)
    if done.returncode != 0:
        raise SubmitError(f"docker tag {source} {target} failed: {done.stderr.strip()}", 1)


def push(reference: str) -> str:
    """``docker push``, its progress shown on stderr; returns the manifest digest it reports."""
    process = subprocess.Popen(
        ["docker", "push", reference],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    assert process.stdout is not None
    digest = None
    lines = []
    for line in process.stdout:
        sys.stderr.write(line)
        lines.append(line.strip())
        found = _DIGEST.search(line)
        if found:
            digest = found.group(1)
    if process.wait() != 0 or digest is None:
        last = lines[-1] if lines else "no output"
        raise SubmitError(f"docker push {reference} failed: {last}", 1)
    return digest


def save(reference: str) -> Iterator[bytes]:
    """``docker save`` streamed (never all in memory); raises if the save fails."""
    process = subprocess.Popen(
        ["docker", "save", reference], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    assert process.stdout is not None
    assert process.stderr is not None
    while chunk := process.stdout.read(CHUNK):
        yield chunk
    error = process.stderr.read().decode(errors="replace").strip()
    if process.wait() != 0:
        raise SubmitError(f"docker save {reference} failed: {error}", 1)
