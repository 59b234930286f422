"""scripts/base-images: one reference per suite and package set, and clear refusals.

The build itself (debootstrap + docker import) runs where the tests need a base
image (tests/support/base_images.py); these checks need neither root nor an engine.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "base-images"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, check=False)


def _print(suite: str, *packages: str, name: str = "podium-base/bookworm") -> str:
    argv = ["build", "--print", "--suite", suite, "--name", name]
    for package in packages:
        argv += ["--package", package]
    done = _run(*argv)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_reference_is_a_content_hash_of_suite_and_packages() -> None:
    reference = _print("bookworm", "python3", "python3-numpy")
    assert re.fullmatch(r"podium-base/bookworm:[0-9a-f]{16}", reference)
    # Order and repetition of the packages do not matter; suite, packages and name do.
    assert _print("bookworm", "python3-numpy", "python3", "python3") == reference
    others = {_print("trixie", "python3", "python3-numpy"), _print("bookworm", "python3")}
    assert reference not in others
    assert len(others) == 2
    tagged = _print("bookworm", "python3", "python3-numpy", name="podium-compose/api")
    assert tagged == "podium-compose/api:" + reference.split(":")[1]


def test_bad_arguments_are_refused_with_a_reason() -> None:
    for args, words in [
        (("build", "--print", "--suite", "Bookworm!"), "is not a Debian suite name"),
        (("build", "--print", "--package", "x y"), "is not a Debian package name"),
        (("build", "--bogus"), "unrecognized arguments: --bogus"),
    ]:
        done = _run(*args)
        assert done.returncode != 0
        assert words in done.stderr
    usage = _run("build", "--help")
    assert usage.returncode == 0
    assert "--package" in usage.stdout
    assert "--print" in usage.stdout
