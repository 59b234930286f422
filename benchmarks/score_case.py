"""Benchmark: scoring one case (the real venous_0, or a synthetic one) against its floor.

Prints seconds per case, peak RSS, and the ratios to

- the floor: reading both volumes with SimpleITK and one pass over each
  (``np.count_nonzero(a == 1)``), the least any scorer must do; against it,
  the scorer with the label read cold (``LabelCase.read`` + ``score_case``);
- the floor of the prediction alone; against it, the scorer with the label
  prepared (another submission on the same case);
- with ``--baseline DIR``, the same two figures for the scoring code of another
  checkout (e.g. a ``git worktree`` of an older commit), in the same run;
- the plain oracle (``tests/scoring/oracle.py``: full-volume masks, brute-force
  distances), measured in the same run.

Each measurement runs in a fresh process so its peak RSS is its own, the kinds
interleaved so they see the same load; wall and CPU time are both printed (on a
loaded machine the CPU time of this single-threaded work is the steadier one).
Imports are done before the clock starts (their cost is a start-up figure:
``tests/scoring/test_import_time.py``); the prepared-label figure and its floor
are each the second read in their process; ``--keep-memory`` makes every process keep
freed memory as the worker does (``scoring.memory``), so that second read reuses the
first one's pages. ``--spread Z,Y,X`` scores a synthetic case of that shape
(uint8) whose lesions are spread over the whole volume (written once to a cache
folder under the system's temporary directory). Usage::

    .venv/bin/python benchmarks/score_case.py [--case venous_0] [--repeat 3] [--mode paper]
                                              [--no-oracle] [--stress] [--baseline DIR]
                                              [--keep-memory]
    .venv/bin/python benchmarks/score_case.py --spread 1000,512,512 --no-oracle
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
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
# A child measuring another checkout's scorer imports it from there.
ROOT = Path(os.environ.get("PODIUM_BENCH_ROOT", HERE))
sys.path.insert(0, str(ROOT))

from scoring.labelcase import LabelCase  # noqa: E402  (after the path set-up above)
from scoring.metrics import score_case  # noqa: E402

SAMPLE = HERE / "tests" / "data" / "trials-sample"
KINDS = ("floor", "floor-pred", "fast", "warm")


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


def _clock() -> tuple[float, float]:
    """Wall and CPU (this process, every thread) seconds: on a loaded machine the CPU
    time of single-threaded work is the steadier figure."""
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> dict[str, float]:
    wall, cpu = _clock()
    return {"seconds": wall - start[0], "cpu": cpu - start[1]}


def _floor(label: Path, prediction: Path) -> dict[str, float]:
    start = _clock()
    for path in (label, prediction):
        _read_and_pass(path)
    return _since(start)


def _floor_prediction(prediction: Path) -> dict[str, float]:
    _read_and_pass(prediction)  # as the scorer's figure below, the second read in the process
    start = _clock()
    _read_and_pass(prediction)
    return _since(start)


def _warm(label_path: Path, prediction: Path, mode: str) -> dict[str, float]:
    label = LabelCase.read(label_path, case_id="case", mode=mode)  # type: ignore[arg-type]
    score_case(label, prediction)  # the first submission; the label's surfaces are now cached
    start = _clock()
    result = score_case(label, prediction)
    return {**_since(start), "tp_50": result.tp_50, "dice": result.dice}


def _fast(label_path: Path, prediction: Path, mode: str) -> dict[str, float]:
    import scipy.spatial  # noqa: F401, PLC0415  (the first detected lesion imports it; untimed)

    start = _clock()
    label = LabelCase.read(label_path, case_id="case", mode=mode)  # type: ignore[arg-type]
    labelled = _since(start)
    result = score_case(label, prediction)
    assert result.status == "ok", result.errors
    return {**_since(start), "label_seconds": labelled["seconds"], "tp_50": result.tp_50,
            "dice": result.dice}  # fmt: skip


def _oracle(label_path: Path, prediction: Path, mode: str) -> dict[str, float]:
    sys.path.insert(0, str(HERE / "tests" / "scoring"))
    oracle_case = importlib.import_module("oracle").oracle_case

    start = time.perf_counter()
    label_image = SimpleITK.ReadImage(str(label_path))
    pred_image = SimpleITK.ReadImage(str(prediction))
    label = SimpleITK.GetArrayFromImage(label_image).transpose(2, 1, 0)
    pred = SimpleITK.GetArrayFromImage(pred_image).transpose(2, 1, 0)
    spacing = label_image.GetSpacing()
    result = oracle_case(
        np.ascontiguousarray(pred), np.ascontiguousarray(label), spacing=spacing, mode=mode
    )
    return {"seconds": time.perf_counter() - start, "tp_50": result.tp_50, "dice": result.dice}


def _write(array: np.ndarray, path: Path, *, like: object | None = None) -> Path:
    image = SimpleITK.GetImageFromArray(array)
    if like is not None:
        image.CopyInformation(like)
    else:
        image.SetSpacing((0.8, 0.8, 1.0))
    SimpleITK.WriteImage(image, str(path), useCompression=True)
    return path


def _stress_predictions(label: Path, folder: Path) -> dict[str, Path]:
    """Hostile but valid predictions on the case's grid: every voxel lesion, and 1 % speckle."""
    reference = SimpleITK.ReadImage(str(label))
    shape = SimpleITK.GetArrayViewFromImage(reference).shape
    rng = np.random.default_rng(0)
    arrays = {
        "every voxel lesion": np.ones(shape, dtype=np.uint8),
        "1 % speckle (about 1.6 M components)": (rng.random(shape, dtype=np.float32) < 0.01).astype(
            np.uint8
        ),
    }
    return {
        name: _write(array, folder / f"stress_{i}.nii.gz", like=reference)
        for i, (name, array) in enumerate(arrays.items())
    }


def _ellipsoid(volume: np.ndarray, centre: np.ndarray, radii: np.ndarray) -> None:
    lo = np.maximum(0, np.floor(centre - radii).astype(int))
    hi = np.minimum(volume.shape, np.ceil(centre + radii).astype(int) + 1)
    grid = np.ogrid[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))]
    inside = sum(((g - c) / r) ** 2 for g, c, r in zip(grid, centre, radii, strict=True)) <= 1
    volume[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))][inside] = 1


def spread_case(shape: tuple[int, int, int], *, lesions: int = 40) -> tuple[Path, Path]:
    """A synthetic (label, prediction) pair whose lesions are spread over the whole volume.

    40 ellipsoids (radii 3-14 voxels) anywhere in the volume; the prediction
    finds 80 % of them, shifted by up to 2 voxels and resized by ±20 %, and
    adds 8 false lesions. Written once, then reused from the cache folder.
    """
    folder = Path(tempfile.gettempdir()) / f"podium-bench-spread-{'x'.join(map(str, shape))}-v1"
    label_path, pred_path = folder / "label.nii.gz", folder / "prediction.nii.gz"
    if label_path.is_file() and pred_path.is_file():
        return label_path, pred_path
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(17)
    label = np.zeros(shape, dtype=np.uint8)
    pred = np.zeros(shape, dtype=np.uint8)
    for _ in range(lesions):
        centre = rng.uniform(16, np.array(shape) - 16)
        radii = rng.uniform(3, 14, size=3)
        _ellipsoid(label, centre, radii)
        if rng.random() < 0.8:
            _ellipsoid(pred, centre + rng.integers(-2, 3, size=3), radii * rng.uniform(0.8, 1.2))
    for _ in range(8):
        _ellipsoid(pred, rng.uniform(16, np.array(shape) - 16), rng.uniform(2, 6, size=3))
    _write(label, folder / "label.tmp.nii.gz").replace(label_path)
    _write(pred, folder / "prediction.tmp.nii.gz").replace(pred_path)
    return label_path, pred_path


def _child(kind: str, label: Path, prediction: Path, mode: str, *, root: Path = HERE) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--label", str(label)]
    done = subprocess.run(
        [*command, "--prediction", str(prediction), "--mode", mode],
        capture_output=True,
        text=True,
        check=True,
        cwd=root,
        env={**os.environ, "PODIUM_BENCH_ROOT": str(root)},
    )
    out: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def _keep_freed_memory() -> None:
    """What the worker and podium-score do (``scoring.memory``), also for the other checkout."""
    spec = importlib.util.spec_from_file_location("_memory", HERE / "scoring" / "memory.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.keep_freed_memory()


def _run_child(kind: str, label: Path, prediction: Path, mode: str) -> None:
    if os.environ.get("PODIUM_BENCH_KEEP_MEMORY"):
        _keep_freed_memory()
    if kind == "floor":
        out = _floor(label, prediction)
    elif kind == "floor-pred":
        out = _floor_prediction(prediction)
    elif kind == "warm":
        out = _warm(label, prediction, mode)
    elif kind == "fast":
        out = _fast(label, prediction, mode)
    else:
        out = _oracle(label, prediction, mode)
    out["peak_rss_mib"] = _peak_rss_mib()
    print(json.dumps(out))


def _ratios(runs: dict[str, list[dict]], kind: str, floor: str, key: str) -> str:
    pairs = zip(runs[kind], runs[floor], strict=True)
    return ", ".join(f"{f[key] / g[key]:.2f}" for f, g in pairs)


def _report(runs: dict[str, list[dict]], *, baseline: Path | None) -> None:
    def median(kind: str, key: str = "seconds") -> float:
        return statistics.median(r[key] for r in runs[kind])

    def rss(kind: str) -> float:
        return max(r["peak_rss_mib"] for r in runs[kind])

    print(f"peak RSS: floor {rss('floor'):.0f} MiB", end="")
    for prefix, who in (("", "scorer"), ("old-", "baseline")):
        if f"{prefix}fast" in runs:
            print(f", {who} {rss(prefix + 'fast'):.0f} / {rss(prefix + 'warm'):.0f} MiB", end="")
    print(" (cold / prepared label)")
    for key, unit in (("seconds", "wall"), ("cpu", "CPU")):
        floor, floor_pred = median("floor", key), median("floor-pred", key)
        print(f"{unit} time, medians (ratios per interleaved run in brackets):")
        print(f"  floor, read both + one pass:   {floor:7.3f} s")
        print(f"  floor, the prediction alone:   {floor_pred:7.3f} s")
        for prefix, who in (("", "scorer"), ("old-", f"baseline {baseline}")):
            if f"{prefix}fast" not in runs:
                continue
            fast, warm = median(f"{prefix}fast", key), median(f"{prefix}warm", key)
            print(
                f"  {who}, cold label: {fast:7.3f} s = {fast / floor:.2f} x floor "
                f"({_ratios(runs, prefix + 'fast', 'floor', key)})"
            )
            print(
                f"  {who}, prepared label: {warm:7.3f} s = {warm / floor_pred:.2f} x the "
                f"prediction's floor ({_ratios(runs, prefix + 'warm', 'floor-pred', key)})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", default="venous_0")
    parser.add_argument("--spread", help="Z,Y,X: a synthetic case with spread lesions instead")
    parser.add_argument("--mode", default="paper", choices=["paper", "reference"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-oracle", action="store_true")
    parser.add_argument("--baseline", type=Path, help="another checkout whose scorer to time too")
    parser.add_argument(
        "--keep-memory",
        action="store_true",
        help="every process keeps freed memory (scoring.memory), as the worker does",
    )
    parser.add_argument(
        "--stress", action="store_true", help="also score an all-lesion and a speckled prediction"
    )
    parser.add_argument("--child", choices=[*KINDS, "oracle"], help=argparse.SUPPRESS)
    parser.add_argument("--label", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--prediction", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _run_child(args.child, args.label, args.prediction, args.mode)
        return
    if args.keep_memory:
        os.environ["PODIUM_BENCH_KEEP_MEMORY"] = "1"

    if args.spread:
        shape = tuple(int(v) for v in args.spread.split(","))
        label, prediction = spread_case((shape[0], shape[1], shape[2]))
        what = f"synthetic {args.spread} (z, y, x) with spread lesions"
    else:
        label = SAMPLE / "labels" / f"{args.case}.nii.gz"
        prediction = SAMPLE / "predictions" / f"{args.case}.nii.gz"
        what = args.case
    roots = {"": HERE, **({"old-": args.baseline.resolve()} if args.baseline else {})}
    runs: dict[str, list[dict]] = {}
    for _ in range(args.repeat):  # interleaved: every kind sees the same load
        for kind in KINDS:
            for prefix, root in roots.items():
                if prefix and kind.startswith("floor"):
                    continue
                found = _child(kind, label, prediction, args.mode, root=root)
                runs.setdefault(prefix + kind, []).append(found)
    load = os.getloadavg()
    kept = ", freed memory kept (scoring.memory)" if args.keep_memory else ""
    print(f"case {what}, {args.mode} mode, median of {args.repeat} fresh processes{kept}")
    print(f"load average (1, 5, 15 min) at the end: {load[0]:.1f}, {load[1]:.1f}, {load[2]:.1f}")
    _report(runs, baseline=args.baseline)
    if not args.no_oracle:
        oracle = _child("oracle", label, prediction, args.mode)
        assert oracle["tp_50"] == runs["fast"][0]["tp_50"]
        assert abs(oracle["dice"] - runs["fast"][0]["dice"]) < 1e-9
        fast = statistics.median(r["seconds"] for r in runs["fast"])
        print(
            f"plain oracle (full volumes):  {oracle['seconds']:7.3f} s   peak RSS "
            f"{oracle['peak_rss_mib']:6.0f} MiB   scorer is {oracle['seconds'] / fast:.0f} x faster"
        )
    if args.stress:
        with tempfile.TemporaryDirectory() as folder:
            for name, path in _stress_predictions(label, Path(folder)).items():
                for prefix, root in roots.items():
                    out = _child("fast", label, path, args.mode, root=root)
                    print(
                        f"stress{' (baseline)' if prefix else ''}, {name}: {out['seconds']:7.3f} s"
                        f" wall, {out['cpu']:7.3f} s CPU, peak RSS {out['peak_rss_mib']:6.0f} MiB"
                    )


if __name__ == "__main__":
    main()
