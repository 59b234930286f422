"""Start-up of ``podium-score``: wall and CPU time against ``import numpy, SimpleITK``.

Each measurement is a fresh interpreter, the kinds interleaved; medians. Kinds:

- baseline: ``python -c "import numpy, SimpleITK"`` (what any run pays);
- ``--help``: ``python -m scoring --help``;
- run start: importing everything a run needs before its first case;
- one-case run: ``python -m scoring`` on one tiny generated case with a detected lesion
  (so it includes scipy's KD-tree, imported on first use).

With ``--baseline DIR`` the same kinds run in another checkout too (e.g. a ``git
worktree`` of an older commit). Target (issue 17): ``--help`` and a run's start within
0.15 s of the baseline.

    .venv/bin/python benchmarks/startup.py [--repeat 9] [--baseline DIR]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import SimpleITK

HERE = Path(__file__).resolve().parents[1]
RUN_START = (
    "import numpy, SimpleITK, scoring.cli, scoring.metrics, scoring.labelcase, "
    "scoring.report, scoring.aggregate"
)


def _tiny_case(folder: Path) -> tuple[Path, Path]:
    labels, preds = folder / "labels", folder / "preds"
    for sub in (labels, preds):
        sub.mkdir()
    mask = np.zeros((6, 7, 8), dtype=np.uint8)
    mask[1:4, 2:5, 2:6] = 1
    for sub in (labels, preds):
        SimpleITK.WriteImage(SimpleITK.GetImageFromArray(mask), str(sub / "c1.nii.gz"))
    return preds, labels


def _measure(args: list[str], cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=cwd, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--baseline", type=Path, help="another checkout to time as well")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="podium-bench-startup-") as tmp:
        preds, labels = _tiny_case(Path(tmp))
        out = Path(tmp) / "out"
        kinds = {
            "import numpy, SimpleITK": ["-c", "import numpy, SimpleITK"],
            "podium-score --help": ["-m", "scoring", "--help"],
            "run start (imports)": ["-c", RUN_START],
            "one-case run": [
                "-m",
                "scoring",
                str(preds),
                str(labels),
                "--out",
                str(out),
                "--quiet",
            ],
        }
        roots = {"": HERE, **({"baseline ": args.baseline.resolve()} if args.baseline else {})}
        found: dict[str, list[tuple[float, float]]] = {}
        for _ in range(args.repeat):
            for name, command in kinds.items():
                for prefix, root in roots.items():
                    if prefix and name.startswith("import numpy"):
                        continue
                    found.setdefault(prefix + name, []).append(_measure(command, root))
    load = os.getloadavg()
    print(f"median of {args.repeat} fresh interpreters each; load {load[0]:.1f}, {load[1]:.1f}")
    base_wall = statistics.median(w for w, _ in found["import numpy, SimpleITK"])
    base_cpu = statistics.median(c for _, c in found["import numpy, SimpleITK"])
    for name, values in found.items():
        wall = statistics.median(w for w, _ in values)
        cpu = statistics.median(c for _, c in values)
        print(
            f"  {name:<36} wall {wall:6.3f} s ({wall - base_wall:+.3f})   "
            f"CPU {cpu:6.3f} s ({cpu - base_cpu:+.3f})"
        )


if __name__ == "__main__":
    main()
