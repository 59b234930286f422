"""Benchmark: interactive scoring per case, and one closed-loop click step on a large volume.

Part 1 (issue 16: "scoring one case's 11 predictions must not cost 11 full
reads of the label"): for each real sample case (tests/data/trials-sample), 11
predictions are built from synthetic clicks (the case's static click file,
``scoring.interactive.simulate.static_clicks``): prediction k is the team's
sample prediction plus every lesion hit by the first k lesion clicks. Printed:
seconds per case for ``LabelCase.read`` + ``score_interactive_case`` (threads
1 and 2), the baseline ``LabelCase.read`` + ``score_case`` of one prediction
measured in the same run, and the ratios (target ≤ 4 × one single-case score,
against the 11 × a naive per-file scorer would cost).

Part 2 (target < 0.5 s): one closed-loop step on a synthetic 512×512×600 case:
reading the prediction (uint8 .nii.gz) plus ``next_clicks``, for a prediction
with misses and false positives, for an empty prediction (the largest lesion is
the miss) and for one without false positives (the seeded shell). Also the
step's scoring and a static click file, for information.

Usage::

    .venv/bin/python benchmarks/interactive.py [--repeat 5] [--case venous_0] [--skip-cases]
                                               [--skip-step]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import SimpleITK

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scoring.interactive.clickfile import Clicks  # noqa: E402  (after the path set-up above)
from scoring.interactive.score import score_interactive_case  # noqa: E402
from scoring.interactive.simulate import ClickSettings, next_clicks, static_clicks  # noqa: E402
from scoring.interactive.steps import read_prediction, score_prediction  # noqa: E402
from scoring.labelcase import LabelCase  # noqa: E402
from scoring.metrics import score_case  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "trials-sample"


def _best(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best (least) wall-clock and CPU seconds (all threads) of ``repeat`` runs of ``fn``.

    The least time is the one least disturbed by other work on shared cores; the
    CPU time shows the work itself when other processes share them.
    """
    wall, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return min(wall), min(cpu)


def _write(path: Path, array_zyx: np.ndarray, like: SimpleITK.Image) -> Path:
    image = SimpleITK.GetImageFromArray(array_zyx)
    image.CopyInformation(like)
    SimpleITK.WriteImage(image, str(path), useCompression=True)
    return path


def _case_predictions(case: str, folder: Path) -> list[Path]:
    """11 predictions for ``case`` following its synthetic clicks (lesions found as clicked)."""
    label_image = SimpleITK.ReadImage(str(SAMPLE / "labels" / f"{case}.nii.gz"))
    pred_zyx = (
        SimpleITK.GetArrayFromImage(
            SimpleITK.ReadImage(str(SAMPLE / "predictions" / f"{case}.nii.gz"))
        )
        == 1
    )
    label = LabelCase.read(SAMPLE / "labels" / f"{case}.nii.gz", case_id=case)
    clicks = static_clicks(label, ClickSettings())
    comps = label.components
    box = comps.box(range(1, comps.count + 1))
    (x0, x1), (y0, y1), (z0, z1) = box
    found: set[int] = set()
    paths = []
    for k in range(11):
        if k:
            found.add(int(comps.component_at(np.asarray([clicks.lesion[k - 1]]))[0]))
        current = pred_zyx.copy()
        if found:
            current[z0:z1, y0:y1, x0:x1] |= comps.mask(sorted(found), box).transpose(2, 1, 0)
        paths.append(_write(folder / f"{case}_{k}.nii.gz", current.astype(np.uint8), label_image))
    return paths


def cases_part(repeat: int, cases: list[str]) -> None:
    """Part 1: seconds per interactive case against one single-case score."""
    print("part 1: one interactive case (11 predictions) against one single-case score")
    for case in cases:
        label_path = SAMPLE / "labels" / f"{case}.nii.gz"
        with tempfile.TemporaryDirectory(prefix="podium-bench-interactive-") as tmp:
            paths = _case_predictions(case, Path(tmp))

            def single(label_path: Path = label_path, case: str = case) -> None:
                label = LabelCase.read(label_path, case_id=case)
                score_case(label, SAMPLE / "predictions" / f"{case}.nii.gz")

            def interactive(
                jobs: int, label_path: Path = label_path, case: str = case, paths: list = paths
            ) -> None:
                label = LabelCase.read(label_path, case_id=case)
                result = score_interactive_case(label, paths, jobs=jobs)
                assert result.status == "ok", result.errors

            base, base_cpu = _best(single, repeat)
            one, one_cpu = _best(lambda: interactive(1), repeat)
            two, _ = _best(lambda: interactive(2), repeat)
            print(
                f"  {case}: single-case score {base:.2f} s (cpu {base_cpu:.2f} s; 11 × = "
                f"{11 * base:.2f} s); interactive, 1 thread {one:.2f} s = {one / base:.2f} × "
                f"(cpu {one_cpu:.2f} s = {one_cpu / base_cpu:.2f} ×), 2 threads {two:.2f} s = "
                f"{two / base:.2f} × (target ≤ 4 ×)"
            )


def _ball(shape: tuple[int, int, int], spacing: np.ndarray, centre, radius_mm) -> tuple:
    """Slices and mask of a ball, on its own box."""
    half = np.ceil(radius_mm / spacing).astype(int)
    lo = np.maximum(np.array(centre) - half, 0)
    hi = np.minimum(np.array(centre) + half + 1, shape)
    grid = np.ogrid[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))]
    d2 = sum(((g - c) * s) ** 2 for g, c, s in zip(grid, centre, spacing, strict=True))
    return tuple(slice(a, b) for a, b in zip(lo, hi, strict=True)), d2 <= radius_mm**2


def step_part(repeat: int) -> None:
    """Part 2: one closed-loop step (read + next click) on 512×512×600."""
    shape = (512, 512, 600)  # x, y, z
    spacing = np.array([0.78, 0.78, 1.0])
    print(f"part 2: one closed-loop step on {shape[0]}×{shape[1]}×{shape[2]} (x, y, z)")
    label = np.zeros(shape, dtype=bool)
    lesions = [((200, 260, 300), 25.0), ((320, 200, 280), 12.0), ((250, 330, 350), 6.0),
               ((180, 180, 250), 4.0), ((300, 300, 320), 9.0)]  # fmt: skip
    for centre, radius in lesions:
        box, ball = _ball(shape, spacing, centre, radius)
        label[box] |= ball
    label_case = LabelCase.from_mask(label, case_id="big", spacing=tuple(spacing))
    partial = label.copy()
    box, ball = _ball(shape, spacing, (200, 260, 300), 25.0)
    partial[box] &= ~ball  # the largest lesion missed
    for centre, radius in (((100, 400, 200), 15.0), ((400, 100, 420), 5.0)):
        box, ball = _ball(shape, spacing, centre, radius)
        partial[box] |= ball  # false positives
    no_fp = label.copy()
    box, ball = _ball(shape, spacing, (320, 200, 280), 12.0)
    no_fp[box] &= ~ball
    like = SimpleITK.Image(list(shape), SimpleITK.sitkUInt8)
    like.SetSpacing(tuple(float(s) for s in spacing))
    settings = ClickSettings()
    previous = static_clicks(label_case, ClickSettings(count=3))
    with tempfile.TemporaryDirectory(prefix="podium-bench-interactive-") as tmp:
        files = {
            "misses and false positives": partial,
            "empty prediction": np.zeros(shape, dtype=bool),
            "no false positive (shell)": no_fp,
        }
        for name, mask in files.items():
            path = _write(Path(tmp) / "p.nii.gz", mask.transpose(2, 1, 0).astype(np.uint8), like)

            def step(path: Path = path) -> Clicks:
                return next_clicks(
                    label_case, read_prediction(label_case, path), previous, settings
                )

            read_only, read_cpu = _best(lambda path=path: read_prediction(label_case, path), repeat)
            total, total_cpu = _best(step, repeat)
            read = read_prediction(label_case, path)
            scoring, scoring_cpu = _best(
                lambda read=read: score_prediction(label_case, read, clicks=3, mode="paper"), repeat
            )
            print(
                f"  {name}: read + next click {total:.3f} s, cpu {total_cpu:.3f} s (target "
                f"< 0.5 s; the read alone {read_only:.3f} s, cpu {read_cpu:.3f} s); "
                f"scoring the step {scoring:.3f} s, cpu {scoring_cpu:.3f} s"
            )
    wall, cpu = _best(lambda: static_clicks(label_case, settings), repeat)
    print(f"  static click file (10 + 10): {wall:.3f} s, cpu {cpu:.3f} s")


def main() -> None:
    """Run the parts asked for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-cases", action="store_true")
    parser.add_argument("--skip-step", action="store_true")
    parser.add_argument("--case", action="append", help="sample case(s) for part 1 (default: both)")
    args = parser.parse_args()
    if not args.skip_cases:
        cases_part(args.repeat, args.case or ["venous_0", "venous_11"])
    if not args.skip_step:
        step_part(args.repeat)


if __name__ == "__main__":
    main()
