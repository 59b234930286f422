"""Keeping freed memory: a process reading volume after volume stops paying page faults."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import resource, sys
import SimpleITK
from scoring.memory import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else None
faults = []
for _ in range(4):  # a 157 MB image, zero-filled, freed: what each read allocates
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    image = SimpleITK.Image([512, 512, 600], SimpleITK.sitkUInt8)
    del image
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(applied, min(faults[1:]))
"""


def _faults(mode: str) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], cwd=ROOT, check=True, capture_output=True, text=True
    )
    applied, faults = done.stdout.split()
    return applied, int(faults)


def test_kept_blocks_are_reused_without_page_faults() -> None:
    _, default = _faults("default")
    applied, kept = _faults("keep")
    assert default > 30_000  # 157 MB of fresh 4 KiB pages each time
    if applied == "True":  # glibc (the worker's platform)
        assert kept < 1_000
    else:  # another C library: nothing changed, nothing broken
        assert applied == "False"
