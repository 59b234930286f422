"""Time a 1,000-sample bootstrap of ranking stability (issue 6; target < 1 s).

Synthetic stored results shaped like the TriALS final phase: 10 teams × 70
test cases (China 17, Egypt 28, External 25) × 2 paradigms (Task 2: visible
and combined, the heavier task: 11 + 6 metrics). Prints the wall time of
``bootstrap_stability`` (case tables, 1,000 stratified resamples, metrics,
ranks and summaries) as the median of several runs, plus the point
leaderboard for comparison.

    .venv/bin/python benchmarks/bootstrap.py [--teams 10] [--samples 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import numpy as np

from scoring.ranking import Stability, bootstrap_stability, leaderboard
from scoring.results import LESION_METRICS, CaseResult

CENTRE_SIZES = {"China": 17, "Egypt": 28, "External": 25}
PARADIGMS = ("visible", "combined")


def synthetic_case(rng: np.random.Generator, case_id: str, skill: float) -> CaseResult:
    """A plausible paper-mode result; higher ``skill`` finds and outlines more."""
    lesions = int(rng.integers(0, 6))
    tp_0 = int(rng.binomial(lesions, min(1.0, skill + 0.1)))
    tp_50 = int(rng.binomial(tp_0, skill))
    fp_0 = int(rng.poisson(2 * (1 - skill)))
    label = int(rng.integers(100, 50_000)) if lesions else 0
    pred = int(label * rng.uniform(0.5, 1.5)) + int(rng.integers(0, 500)) * fp_0
    inter = int(min(label, pred) * skill)
    per_lesion = rng.uniform(0.0, 1.0, size=(len(LESION_METRICS), tp_50))
    return CaseResult(
        case_id=case_id,
        mode="paper",
        intersection=inter,
        pred_voxels=pred,
        label_voxels=label,
        dice=2 * inter / (pred + label) if pred + label else 1.0,
        tp_50=tp_50,
        fp_50=fp_0 + tp_0 - tp_50,
        fn_50=lesions - tp_50,
        tp_0=tp_0,
        fp_0=fp_0,
        fn_0=lesions - tp_0,
        lesion_sums={m: float(per_lesion[i].sum()) for i, m in enumerate(LESION_METRICS)},
        lesion_count=tp_50,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, default=10)
    parser.add_argument("--samples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    centres = {f"{c}-{i:02d}": c for c, n in CENTRE_SIZES.items() for i in range(n)}
    submissions = {
        f"team{t:02d}": {
            p: [synthetic_case(rng, case_id, 0.3 + 0.6 * rng.random()) for case_id in centres]
            for p in PARADIGMS
        }
        for t in range(args.teams)
    }

    def board() -> object:
        return leaderboard(submissions, centres=centres, paradigms=PARADIGMS)

    def boot() -> Stability:
        return bootstrap_stability(
            submissions, centres=centres, paradigms=PARADIGMS, samples=args.samples, seed=1
        )

    def timed(fn: Callable[[], object]) -> float:
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    board_s = timed(board)
    boot_s = timed(boot)
    st = boot()
    print(
        f"{args.teams} teams × {len(centres)} cases × {len(PARADIGMS)} paradigms, "
        f"median of {args.repeat} runs"
    )
    print(f"point leaderboard: {board_s * 1000:.1f} ms")
    print(f"bootstrap, {args.samples} samples: {boot_s * 1000:.1f} ms (target < 1000 ms)")
    tau = st.overall.kendall_tau_mean
    print(
        f"overall Kendall tau vs point ranking: mean {'undefined' if tau is None else f'{tau:.3f}'}"
    )


if __name__ == "__main__":
    main()
