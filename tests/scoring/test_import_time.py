"""The scorer starts fast: what ``podium-score`` imports costs little beyond numpy and SimpleITK.

Timing is relative, measured in this process tree: child interpreters that
import numpy and SimpleITK (the baseline every run pays) alternate with ones
that also import what a run needs; each child's CPU time (user + system, from
``getrusage`` of the children) is taken, so waiting on a loaded machine does
not count. Medians of interleaved repetitions.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BASELINE = "import numpy, SimpleITK"
#: Everything a run imports before its first case (scipy's KD-tree waits for a detected lesion).
RUN = (
    "import numpy, SimpleITK, scoring.cli, scoring.metrics, scoring.labelcase, "
    "scoring.report, scoring.aggregate"
)
REPEATS = 5
#: The extra CPU time allowed, as a share of the baseline's (about 0.15 s on the 2-core
#: machine); importing scipy.spatial or ndimage eagerly costs more than the baseline itself.
BUDGET = 0.5


def _cpu_seconds(*args: str) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, *args], cwd=ROOT, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_help_and_a_run_start_within_budget_of_numpy_and_simpleitk() -> None:
    baseline, run, help_ = [], [], []
    for _ in range(REPEATS):  # interleaved, so every kind sees the same load
        baseline.append(_cpu_seconds("-c", BASELINE))
        run.append(_cpu_seconds("-c", RUN))
        help_.append(_cpu_seconds("-m", "scoring", "--help"))
    base = statistics.median(baseline)
    budget = BUDGET * base
    assert statistics.median(run) - base <= budget, (baseline, run)
    assert statistics.median(help_) - base <= budget, (baseline, help_)


def test_nothing_heavy_is_imported_before_it_is_needed() -> None:
    probe = (
        "import sys, scoring.cli; first = set(sys.modules); "
        "import scoring.metrics, scoring.labelcase, scoring.report, scoring.aggregate; "
        "heavy = ('numpy', 'SimpleITK', 'scipy', 'tqdm', 'concurrent.futures', 'cc3d'); "
        "print(sorted(m for m in heavy if m in first)); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, check=True, capture_output=True, text=True
    )
    for_help, for_run = done.stdout.splitlines()
    assert for_help == "[]"  # --help needs argparse and nothing else
    assert for_run == "['SimpleITK', 'cc3d', 'numpy']"
