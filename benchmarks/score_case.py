"""Benchmark: scoring one real TriALS case (venous_0, 637×512×512) against its floor and the oracle.

Prints seconds per case, peak RSS, and the ratios to

- the floor: reading both volumes with SimpleITK and one pass over each
  (``np.count_nonzero(a == 1)``), the least any scorer must do; against it,
  the scorer with the label read cold (``LabelCase.read`` + ``score_case``);
- the floor of the prediction alone; against it, the scorer with the label
  prepared (another submission on the same case);
- the plain oracle (``tests/scoring/oracle.py``: full-volume masks, brute-force
  distances), measured in the same run.

Each measurement runs in a fresh process so its peak RSS is its own, the
kinds interleaved so they see the same load. Imports are done before the
clock starts (their cost is a start-up figure: ``tests/scoring/test_import_time.py``);
the prepared-label figure and its floor are each the second read in their
process. Usage::

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


def _read_and_pass(path: Path) -> None:
    image = SimpleITK.ReadImage(str(path))
    array = SimpleITK.GetArrayViewFromImage(image)
    # One pass, in slabs (a full-size boolean temporary would cost more than
    # the scorer's own pass and flatter the ratio).
    for z in range(0, array.shape[0], 32):
        np.count_nonzero(array[z : z + 32] == 1)
    del array, image


def _floor(case: str) -> dict[str, float]:
    start = time.perf_counter()
    for folder in ("labels", "predictions"):
        _read_and_pass(SAMPLE / folder / f"{case}.nii.gz")
    return {"seconds": time.perf_counter() - start}


def _floor_prediction(case: str) -> dict[str, float]:
    path = SAMPLE / "predictions" / f"{case}.nii.gz"
    _read_and_pass(path)  # as the scorer's figure below, the second read in the process
    start = time.perf_counter()
    _read_and_pass(path)
    return {"seconds": time.perf_counter() - start}


def _warm(case: str, mode: str) -> dict[str, float]:
    prediction = SAMPLE / "predictions" / f"{case}.nii.gz"
    label = LabelCase.read(SAMPLE / "labels" / f"{case}.nii.gz", case_id=case, mode=mode)  # type: ignore[arg-type]
    score_case(label, prediction)  # the first submission; the label's surfaces are now cached
    start = time.perf_counter()
    result = score_case(label, prediction)
    return {"seconds": time.perf_counter() - start, "tp_50": result.tp_50, "dice": result.dice}


def _fast(case: str, mode: str, prediction: Path | None = None) -> dict[str, float]:
    prediction = prediction or SAMPLE / "predictions" / f"{case}.nii.gz"
    import scipy.spatial  # noqa: F401, PLC0415  (the first detected lesion imports it; untimed)

    start = time.perf_counter()
    label = LabelCase.read(SAMPLE / "labels" / f"{case}.nii.gz", case_id=case, mode=mode)  # type: ignore[arg-type]
    labelled = time.perf_counter()
    result = score_case(label, prediction)
    done = time.perf_counter()
    assert result.status == "ok", result.errors
    return {
        "seconds": done - start,
        "label_seconds": labelled - start,
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
    parser.add_argument(
        "--child", choices=["floor", "floor-pred", "fast", "warm", "oracle"], help=argparse.SUPPRESS
    )
    parser.add_argument("--prediction", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        if args.child == "floor":
            out = _floor(args.case)
        elif args.child == "floor-pred":
            out = _floor_prediction(args.case)
        elif args.child == "warm":
            out = _warm(args.case, args.mode)
        elif args.child == "fast":
            out = _fast(args.case, args.mode, args.prediction)
        else:
            out = _oracle(args.case, args.mode)
        out["peak_rss_mib"] = _peak_rss_mib()
        print(json.dumps(out))
        return

    runs: dict[str, list[dict[str, float]]] = {
        k: [] for k in ("floor", "floor-pred", "fast", "warm")
    }
    for _ in range(args.repeat):  # interleaved: every kind sees the same load
        for kind, found in runs.items():
            found.append(_child(kind, args.case, args.mode))

    def median(kind: str, key: str = "seconds") -> float:
        return statistics.median(r[key] for r in runs[kind])

    def rss(kind: str) -> float:
        return max(r["peak_rss_mib"] for r in runs[kind])

    floor, floor_pred = median("floor"), median("floor-pred")
    fast, warm = median("fast"), median("warm")
    fasts = runs["fast"]
    print(f"case {args.case}, {args.mode} mode, median of {args.repeat} fresh processes")
    print(f"floor (read both + one pass): {floor:7.3f} s   peak RSS {rss('floor'):6.0f} MiB")
    print(
        f"podium scorer (cold label):   {fast:7.3f} s   peak RSS "
        f"{rss('fast'):6.0f} MiB   = {fast / floor:.2f} x floor   (target <= 1.2)"
    )
    print(f"  of which label preparation:  {median('fast', 'label_seconds'):7.3f} s")
    print(f"floor (prediction alone):     {floor_pred:7.3f} s")
    print(
        f"podium scorer, prepared label (another submission): {warm:7.3f} s   peak RSS "
        f"{rss('warm'):6.0f} MiB   = {warm / floor_pred:.2f} x floor   (target <= 1.05)"
    )
    print(
        "  per run, scorer / floor: cold "
        + ", ".join(
            f"{f['seconds'] / g['seconds']:.2f}" for f, g in zip(fasts, runs["floor"], strict=True)
        )
        + "; prepared "
        + ", ".join(
            f"{f['seconds'] / g['seconds']:.2f}"
            for f, g in zip(runs["warm"], runs["floor-pred"], strict=True)
        )
    )
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
