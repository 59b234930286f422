"""Dataset metrics of interactive phases, and what ``scoring.ranking`` needs to rank on them.

Interactive boards rank on six metrics, each the mean over the counted cases
of a per-case value (TriALS 2025 Task 2's ``metrics.csv``):

=========================  ===========  ==================================
name                       label        per case
=========================  ===========  ==================================
``interactive_dsc_auc``    DSC@AUC      area under the Dice curve (0…N)
``interactive_asd_auc``    ASD@AUC      area under the ASSD curve (mm)
``interactive_msd_auc``    MSD@AUC      area under the MSD curve (mm)
``interactive_dsc_final``  DSC@Final    Dice at the last point
``interactive_asd_final``  ASD@Final    ASSD at the last point (mm)
``interactive_msd_final``  MSD@Final    MSD at the last point (mm)
=========================  ===========  ==================================

Higher is better for the Dice ones, lower for the distances. Ranking hooks
mirror :mod:`scoring.ranking.metrics`: :func:`case_quantities` lays a team's
results out as one row per case (:data:`QUANTITIES`), any case weighting
(a centre, a bootstrap sample) is a weighted sum of rows, and
:func:`metrics_from_sums` turns the sums into the six metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from scoring.interactive.results import BINARY_METRICS, LARGE, InteractiveCaseResult
from scoring.results import CaseResult, Mode

FloatArray = npt.NDArray[np.float64]

#: The ranked metrics, in the order of the TriALS ``metrics.csv``.
INTERACTIVE_METRICS: tuple[str, ...] = (
    "interactive_dsc_auc",
    "interactive_asd_auc",
    "interactive_msd_auc",
    "interactive_dsc_final",
    "interactive_asd_final",
    "interactive_msd_final",
)

#: The TriALS names (``metrics.csv``, per-case CSV headers).
LABELS: dict[str, str] = {
    "interactive_dsc_auc": "DSC@AUC",
    "interactive_asd_auc": "ASD@AUC",
    "interactive_msd_auc": "MSD@AUC",
    "interactive_dsc_final": "DSC@Final",
    "interactive_asd_final": "ASD@Final",
    "interactive_msd_final": "MSD@Final",
}

#: Which way is better (the vocabulary of ``scoring.ranking.metrics.METRIC_DIRECTIONS``).
DIRECTIONS: dict[str, Literal["higher", "lower"]] = {
    m: "higher" if "_dsc_" in m else "lower" for m in INTERACTIVE_METRICS
}

# (metric name) -> (binary metric, "auc" | "final")
_SOURCE: dict[str, tuple[str, str]] = {
    "interactive_dsc_auc": ("dice", "auc"),
    "interactive_asd_auc": ("assd", "auc"),
    "interactive_msd_auc": ("msd", "auc"),
    "interactive_dsc_final": ("dice", "final"),
    "interactive_asd_final": ("assd", "final"),
    "interactive_msd_final": ("msd", "final"),
}

#: Columns of a :func:`case_quantities` matrix; each is summed over cases.
QUANTITIES: tuple[str, ...] = ("counted", *INTERACTIVE_METRICS)


def worst_value(metric: str, clicks: float | FloatArray) -> float | FloatArray:
    """One metric's value for an empty prediction at every click count (elementwise in ``clicks``).

    Examples
    --------
    >>> worst_value("interactive_msd_auc", np.array([2.0, 10.0])).tolist()
    [18002.0, 90010.0]
    """
    source, kind = _SOURCE[metric]
    per_point = 0.0 if source == "dice" else LARGE
    return per_point * clicks if kind == "auc" else per_point + 0 * clicks


def worst_values(clicks: int) -> dict[str, float]:
    """What a team without a scored submission gets: the curve of an empty prediction.

    Examples
    --------
    >>> worst_values(10)["interactive_asd_auc"], worst_values(10)["interactive_dsc_final"]
    (90010.0, 0.0)
    """
    return {m: float(worst_value(m, clicks)) for m in INTERACTIVE_METRICS}


def case_value(result: InteractiveCaseResult, metric: str) -> float:
    """One case's value of a ranked metric (its AUC or final point)."""
    source, kind = _SOURCE[metric]
    return float((result.auc if kind == "auc" else result.final)[source])


def case_quantities(results: Sequence[InteractiveCaseResult], *, mode: Mode) -> FloatArray:
    """One row per case: ``counted`` then each metric's per-case value (0 when not counted).

    Raises
    ------
    ValueError
        If a result was scored in another mode or with another click count.
    """
    rows = np.zeros((len(results), len(QUANTITIES)), dtype=np.float64)
    clicks = {r.clicks for r in results}
    if len(clicks) > 1:
        raise ValueError(f"results mix click counts {sorted(clicks)}")
    for i, r in enumerate(results):
        if r.mode != mode:
            raise ValueError(f"case {r.case_id!r} was scored in {r.mode!r} mode, not {mode!r}")
        if r.counted:
            rows[i] = (1.0, *(case_value(r, m) for m in INTERACTIVE_METRICS))
    return rows


def metrics_from_sums(sums: FloatArray, *, clicks: int) -> dict[str, FloatArray]:
    """The six metrics from summed :func:`case_quantities` rows (any leading shape).

    With no counted case the worst values (:func:`worst_values`) are returned.

    Examples
    --------
    >>> from scoring.interactive.results import StepResult
    >>> steps = [StepResult(clicks=k, dice=0.5, assd=2.0, msd=4.0) for k in range(3)]
    >>> r = InteractiveCaseResult.build(case_id="a", mode="paper", steps=steps)
    >>> m = metrics_from_sums(case_quantities([r, r], mode="paper").sum(axis=0), clicks=2)
    >>> float(m["interactive_dsc_auc"]), float(m["interactive_msd_final"])
    (1.0, 4.0)
    """
    counted = sums[..., 0]
    safe = np.where(counted > 0, counted, 1.0)
    worst = worst_values(clicks)
    return {
        m: np.where(counted > 0, sums[..., 1 + i] / safe, worst[m])
        for i, m in enumerate(INTERACTIVE_METRICS)
    }


def mean_curve(results: Sequence[InteractiveCaseResult], metric: str = "dice") -> list[float]:
    """The mean over counted cases of ``metric`` at each click count 0…N (click order)."""
    if metric not in BINARY_METRICS:
        raise ValueError(f"{metric!r} is not one of {BINARY_METRICS}")
    counted = [r for r in results if r.counted]
    if not counted:
        return []
    curves = np.array([r.curve(metric) for r in counted], dtype=np.float64)
    return [float(v) for v in curves.mean(axis=0)]


def lesion_results(results: Sequence[InteractiveCaseResult], *, clicks: int) -> list[CaseResult]:
    """Each case's lesion-wise result at ``clicks`` clicks (``paper`` rules).

    For :func:`scoring.aggregate.dataset_metrics` (``mode="paper"``): the
    detection metrics of the predictions made with that many clicks.
    """
    out = []
    for r in results:
        lesions = r.steps[clicks].lesions
        if lesions is None:
            raise ValueError(f"case {r.case_id!r} has no lesion-wise result at {clicks} clicks")
        out.append(lesions)
    return out


@dataclass(frozen=True, slots=True)
class InteractiveDatasetMetrics:
    """The six ranked metrics of a set of cases, how many counted, and the mean curves."""

    values: dict[str, float]
    n_cases: int
    clicks: int
    curves: dict[str, list[float]]

    def as_dict(self) -> dict[str, float]:
        """The metrics keyed by their TriALS names, in ``metrics.csv`` order."""
        return {LABELS[m]: self.values[m] for m in INTERACTIVE_METRICS}

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable."""
        return {
            "values": dict(self.values),
            "n_cases": self.n_cases,
            "clicks": self.clicks,
            "curves": {k: list(v) for k, v in self.curves.items()},
        }


def dataset_metrics(
    results: Sequence[InteractiveCaseResult], *, mode: Mode, clicks: int
) -> InteractiveDatasetMetrics:
    """The ranked metrics and mean curves over ``results`` (one centre, or all)."""
    sums = case_quantities(results, mode=mode).sum(axis=0)
    values = metrics_from_sums(sums, clicks=clicks)
    return InteractiveDatasetMetrics(
        values={m: float(v) for m, v in values.items()},
        n_cases=int(sums[0]),
        clicks=clicks,
        curves={m: mean_curve(results, m) for m in BINARY_METRICS},
    )
