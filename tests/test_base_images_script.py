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


def test_the_reference_is_a_content_hash_of_suite_and_packages() -> None:
    first = _run("--print", "bookworm", "python3", "python3-numpy")
    assert first.returncode == 0, first.stderr
    reference = first.stdout.strip()
    assert re.fullmatch(r"podium-base/bookworm:[0-9a-f]{16}", reference)
    # Order and repetition of the packages do not matter; suite, packages and tag do.
    assert _run("--print", "bookworm", "python3-numpy", "python3", "python3").stdout.strip() == (
        reference
    )
    others = {
        _run("--print", "trixie", "python3", "python3-numpy").stdout.strip(),
        _run("--print", "bookworm", "python3").stdout.strip(),
    }
    assert reference not in others
    assert len(others) == 2
    tagged = _run("--print", "--tag", "podium-compose/api", "bookworm", "python3", "python3-numpy")
    assert tagged.stdout.strip() == "podium-compose/api:" + reference.split(":")[1]


def test_bad_arguments_are_refused_with_a_reason() -> None:
    for args, words in [
        (("--print", "Bookworm!"), "is not a Debian suite name"),
        (("--print", "bookworm", "x y"), "is not a Debian package name"),
        (("--bogus", "bookworm"), "unknown option --bogus"),
    ]:
        done = _run(*args)
        assert done.returncode != 0
        assert words in done.stderr
    usage = _run("--help")
    assert usage.returncode == 0
    assert "scripts/base-images SUITE [PACKAGE...]" in usage.stderr
    assert "set -euo" not in usage.stderr
