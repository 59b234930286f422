"""Debian base images for tests, built without any registry by ``scripts/base-images``.

``scripts/base-images build`` debootstraps a suite with extra packages and imports it as
``REPOSITORY:HASH``, HASH a content hash of everything that goes into it; asking again
returns the image already in the engine, so a machine builds each base once and
reuses it between test runs. A build takes a minute or two (the .deb downloads
from the Debian mirror); later sessions take milliseconds.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "base-images"


def base_image(
    suite: str,
    packages: Sequence[str] = (),
    *,
    repository: str | None = None,
    docker_host: str | None = None,
    timeout_s: float = 900,
) -> str:
    """The reference of a debootstrapped ``suite`` image with ``packages`` (built once).

    Parameters
    ----------
    suite
        A Debian suite the mirror serves (``bookworm``, ``trixie``).
    packages
        Extra Debian packages (``debootstrap --include``).
    repository
        Image repository (default ``podium-base/<suite>``).
    docker_host
        The engine to build into (default: the docker CLI's own, usually the host's).
    timeout_s
        Upper bound for a first build.

    Raises
    ------
    RuntimeError
        The build failed; the message carries the script's last lines.
    """
    command = [
        str(SCRIPT),
        "build",
        "--suite",
        suite,
        "--name",
        repository or f"podium-base/{suite}",
    ]
    for package in packages:
        command += ["--package", package]
    env = dict(os.environ)
    if docker_host:
        env["DOCKER_HOST"] = docker_host
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, timeout=timeout_s, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"scripts/base-images {suite} {' '.join(packages)} failed:\n{done.stderr[-3000:]}"
        )
    return done.stdout.strip().splitlines()[-1]
