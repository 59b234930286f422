"""Test-only pause points inside an evaluation, inert unless a test sets them.

The fault-injection tests (``tests/reliability/test_faults.py``) kill a worker
process at a chosen stage of a run. To make "during scoring" and "between
scoring and persisting" deterministic rather than a race, a worker started with
``PODIUM_FAULT_PAUSE_DIR=<dir>`` and ``PODIUM_FAULT_PAUSE_AT=<stage>[,<stage>]``
creates ``<dir>/<stage>-<submission id>-<attempt>`` when it reaches one of
those stages and waits until the file is removed. Deployments never set these
variables; without them :func:`pause_point` returns at once.

Stages: ``scoring`` (the row is ``scoring`` and the predictions are stored, the
scores not yet computed) and ``persist`` (scores computed, not yet written).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

PAUSE_DIR = "PODIUM_FAULT_PAUSE_DIR"
PAUSE_AT = "PODIUM_FAULT_PAUSE_AT"


def pause_point(stage: str, *, submission_id: int, attempt: int) -> None:
    """Wait at ``stage`` while the test's marker file exists (no-op unless enabled)."""
    folder = os.environ.get(PAUSE_DIR)
    if not folder or stage not in os.environ.get(PAUSE_AT, "").split(","):
        return
    marker = Path(folder) / f"{stage}-{submission_id}-{attempt}"
    marker.touch()
    while marker.exists():
        time.sleep(0.05)
