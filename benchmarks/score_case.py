"""Benchmark: scoring one real TriALS case (venous_0, 637×512×512) against its floor and the oracle.

Prints seconds per case, peak RSS, and the ratios to

- the floor: reading both volumes with SimpleITK and one pass over each
  (``np.count_nonzero(a == 1)``), the least any scorer must do;
- the plain oracle (``tests/scoring/oracle.py``: full-volume masks, brute-force
  distances), measured in the same run.

Each measurement runs in a fresh process so its peak RSS is its own. Usage::

    .venv/bin/python benchmarks/score_case.py [--case venous_0] [--repeat 3] [--mode paper]
                                              [--no-oracle] [--stress]
"""

from __future__ import annotations

import argparse
import importlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import SimpleITK

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring.labelcase import LabelCase  # noqa: E402  (after the path set-up above)
from scoring.metrics import score_case  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "trials-sample"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _floor(case: str) -> dict[str, float]:
    start = time.perf_counter()
    for folder in ("labels", "predictions"):
        image = SimpleITK.ReadImage(str(SAMPLE / folder / f"{case}.nii.gz"))
        array = SimpleITK.GetArrayViewFromImage(image)
        # One pass, in slabs (a full-size boolean temporary would cost more than
        # the scorer's own pass and flatter the ratio).
        for z in range(0, array.shape[0], 32):
            np.count_nonzero(array[z : z + 32] == 1)
        del array, image
    return {"seconds": time.perf_counter() - start}


def _fast(case: str, mode: str, prediction: Path | None = None) -> dict[str, float]:
    prediction = prediction or SAMPLE / "predictions" / f"{case}.nii.gz"
    start = time.perf_counter()
    label = LabelCase.read(SAMPLE / "labels" / f"{case}.nii.gz", case_id=case, mode=mode)  # type: ignore[arg-type]
    labelled = time.perf_counter()
    result = score_case(label, prediction)
    done = time.perf_counter()
    # A second submission on the same case reuses the prepared label.
    score_case(label, prediction)
    again = time.perf_counter()
    assert result.status == "ok", result.errors
    return {
        "seconds": done - start,
        "label_seconds": labelled - start,
        "warm_label_seconds": again - done,
        "tp_50": result.tp_50,
        "dice": result.dice,
    }


def _oracle(case: str, mode: str) -> dict[str, float]:
    sys.path.insert(0, str(ROOT / "tests" / "scoring"))
    oracle_case = importlib.import_module("oracle").oracle_case

    start = time.perf_counter()
    label_image = SimpleITK.ReadImage(str(SAMPLE / "labels" / f"{case}.nii.gz"))
    pred_image = SimpleITK.ReadImage(str(SAMPLE / "predictions" / f"{case}.nii.gz"))
    label = SimpleITK.GetArrayFromImage(label_image).transpose(2, 1, 0)
    pred = SimpleITK.GetArrayFromImage(pred_image).transpose(2, 1, 0)
    spacing = label_image.GetSpacing()
    result = oracle_case(
        np.ascontiguousarray(pred), np.ascontiguousarray(label), spacing=spacing, mode=mode
    )
    return {"seconds": time.perf_counter() - start, "tp_50": result.tp_50, "dice": result.dice}


def _stress_predictions(case: str, folder: Path) -> dict[str, Path]:
    """Hostile but valid predictions on the case's grid: every voxel lesion, and 1 % speckle."""
    reference = SimpleITK.ReadImage(str(SAMPLE / "labels" / f"{case}.nii.gz"))
    shape = SimpleITK.GetArrayViewFromImage(reference).shape
    rng = np.random.default_rng(0)
    arrays = {
        "every voxel lesion": np.ones(shape, dtype=np.uint8),
        "1 % speckle (about 1.6 M components)": (rng.random(shape, dtype=np.float32) < 0.01).astype(
            np.uint8
        ),
    }
    paths = {}
    for i, (name, array) in enumerate(arrays.items()):
        image = SimpleITK.GetImageFromArray(array)
        image.CopyInformation(reference)
        paths[name] = folder / f"stress_{i}.nii.gz"
        SimpleITK.WriteImage(image, str(paths[name]), useCompression=True)
    return paths


def _child(part: str, case: str, mode: str, prediction: Path | None = None) -> dict[str, float]:
    extra = ["--prediction", str(prediction)] if prediction else []
    done = subprocess.run(
        [sys.executable, __file__, "--child", part, "--case", case, "--mode", mode, *extra],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    out: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="venous_0")
    parser.add_argument("--mode", default="paper", choices=["paper", "reference"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-oracle", action="store_true")
    parser.add_argument(
        "--stress", action="store_true", help="also score an all-lesion and a speckled prediction"
    )
    parser.add_argument("--child", choices=["floor", "fast", "oracle"], help=argparse.SUPPRESS)
    parser.add_argument("--prediction", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        if args.child == "floor":
            out = _floor(args.case)
        elif args.child == "fast":
            out = _fast(args.case, args.mode, args.prediction)
        else:
            out = _oracle(args.case, args.mode)
        out["peak_rss_mib"] = _peak_rss_mib()
        print(json.dumps(out))
        return

    floors = [_child("floor", args.case, args.mode) for _ in range(args.repeat)]
    fasts = [_child("fast", args.case, args.mode) for _ in range(args.repeat)]
    floor = statistics.median(f["seconds"] for f in floors)
    fast = statistics.median(f["seconds"] for f in fasts)
    print(f"case {args.case}, {args.mode} mode, median of {args.repeat} fresh processes")
    floor_rss = max(f["peak_rss_mib"] for f in floors)
    print(f"floor (read both + one pass): {floor:7.3f} s   peak RSS {floor_rss:6.0f} MiB")
    print(
        f"podium scorer (cold label):   {fast:7.3f} s   peak RSS "
        f"{max(f['peak_rss_mib'] for f in fasts):6.0f} MiB   = {fast / floor:.2f} x floor"
    )
    label_s = statistics.median(f["label_seconds"] for f in fasts)
    warm_s = statistics.median(f["warm_label_seconds"] for f in fasts)
    print(f"  of which label preparation:  {label_s:7.3f} s")
    print(f"  with a prepared label (another submission): {warm_s:7.3f} s")
    if not args.no_oracle:
        oracle = _child("oracle", args.case, args.mode)
        assert oracle["tp_50"] == fasts[0]["tp_50"]
        assert abs(oracle["dice"] - fasts[0]["dice"]) < 1e-9
        print(
            f"plain oracle (full volumes):  {oracle['seconds']:7.3f} s   peak RSS "
            f"{oracle['peak_rss_mib']:6.0f} MiB   scorer is {oracle['seconds'] / fast:.0f} x faster"
        )

    if args.stress:
        with tempfile.TemporaryDirectory() as folder:
            for name, path in _stress_predictions(args.case, Path(folder)).items():
                out = _child("fast", args.case, args.mode, path)
                print(
                    f"stress, {name}: {out['seconds']:7.3f} s   peak RSS "
                    f"{out['peak_rss_mib']:6.0f} MiB"
                )


if __name__ == "__main__":
    main()
