"""Dataset metrics over any subset of per-case results (a centre, all cases, a bootstrap sample).

Every dataset metric is a function of sums over :class:`~scoring.results.CaseResult`
fields, so this module never needs the images. The rules (docs/evaluation.md,
"Dataset metrics" and "The two modes"):

- ``paper``: every case counts; a missing or invalid case arrives here already
  scored as an empty prediction (the scorer builds that result). Per-lesion
  means pool the detected groups' entries *and* one penalty entry per FN and
  per FP at IoU > 0.5.
- ``reference``: cases whose status is not ``"ok"`` are skipped; per-lesion
  means pool the detected groups only, and fall back to the penalty values
  when nothing at all was detected in the set.
- Global Dice with every counted case empty (ΣS = 0) is 1 (the reference
  divides by zero). A set with no counted case at all gets the worst value of
  every metric, so a team without usable cases never outranks one with some.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from scoring.results import LESION_METRICS, PENALTY, CaseResult, Mode

#: Dataset metric names, in the order of the reference evaluator's ``metrics.csv``.
DATASET_METRICS: tuple[str, ...] = (
    "lesion_precision",
    "lesion_recall",
    "lesion_precision_greater_zero",
    "lesion_recall_greater_zero",
    "lesion_dice",
    "lesion_jaccard",
    "lesion_voe",
    "lesion_rvd",
    "lesion_assd",
    "lesion_rmsd",
    "lesion_msd",
    "lesion_dice_per_case",
    "lesion_dice_global",
)


@dataclass(frozen=True, slots=True)
class DatasetMetrics:
    """The dataset metrics of one set of cases (names as in the reference's ``metrics.csv``).

    ``n_cases`` is the number of cases that entered the sums, ``n_entries`` the
    number of per-lesion entries pooled into the per-lesion means (penalties
    included in ``paper`` mode).
    """

    lesion_precision: float
    lesion_recall: float
    lesion_precision_greater_zero: float
    lesion_recall_greater_zero: float
    lesion_dice: float
    lesion_jaccard: float
    lesion_voe: float
    lesion_rvd: float
    lesion_assd: float
    lesion_rmsd: float
    lesion_msd: float
    lesion_dice_per_case: float
    lesion_dice_global: float
    n_cases: int
    n_entries: int

    def __getitem__(self, name: str) -> float:
        """The metric called ``name`` (e.g. ``"lesion_dice"``)."""
        if name not in DATASET_METRICS:
            raise KeyError(name)
        value: float = getattr(self, name)
        return value

    def as_dict(self) -> dict[str, float]:
        """The 13 metrics in the reference's order, without the counts."""
        return {name: self[name] for name in DATASET_METRICS}

    def to_dict(self) -> dict[str, float | int]:
        """Everything, JSON-serialisable."""
        return asdict(self)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def worst_metrics() -> DatasetMetrics:
    """The worst value of every metric (no counted case at all).

    Examples
    --------
    >>> worst_metrics().lesion_voe, worst_metrics().lesion_msd
    (1.0, 9001.0)
    """
    return DatasetMetrics(
        lesion_precision=0.0,
        lesion_recall=0.0,
        lesion_precision_greater_zero=0.0,
        lesion_recall_greater_zero=0.0,
        **{f"lesion_{m}": PENALTY[m] for m in LESION_METRICS},
        lesion_dice_per_case=0.0,
        lesion_dice_global=0.0,
        n_cases=0,
        n_entries=0,
    )


def counted_cases(results: Iterable[CaseResult], *, mode: Mode) -> list[CaseResult]:
    """The results that enter the sums under ``mode`` (``reference`` skips unusable cases)."""
    counted = []
    for result in results:
        if result.mode != mode:
            raise ValueError(
                f"case {result.case_id!r} was scored in {result.mode!r} mode, not {mode!r}"
            )
        if result.counted:
            counted.append(result)
    return counted


def dataset_metrics(results: Sequence[CaseResult], *, mode: Mode) -> DatasetMetrics:
    """Aggregate per-case results into the dataset metrics.

    Parameters
    ----------
    results
        The cases of the set (repeats allowed, as in a bootstrap sample), all
        scored in ``mode``.
    mode
        ``"paper"`` or ``"reference"`` (see the module docstring).

    Returns
    -------
    DatasetMetrics
        The 13 metrics plus the number of cases and lesion entries used.

    Raises
    ------
    ValueError
        If a result was scored in another mode.

    Examples
    --------
    >>> a = CaseResult(case_id="a", mode="paper", intersection=8, pred_voxels=10,
    ...                label_voxels=10, dice=0.8, tp_50=1, tp_0=1, fp_50=1, fp_0=1,
    ...                lesion_count=1, lesion_sums=dict(dice=0.8, jaccard=0.8 / 1.2,
    ...                voe=1 - 0.8 / 1.2, rvd=0.0, assd=1.0, rmsd=1.0, msd=2.0))
    >>> m = dataset_metrics([a], mode="paper")
    >>> m.lesion_precision, m.lesion_recall, m.lesion_dice, m.lesion_msd
    (0.5, 1.0, 0.4, 4501.5)
    >>> dataset_metrics([], mode="paper").n_cases
    0
    """
    cases = counted_cases(results, mode=mode)
    if not cases:
        return worst_metrics()
    tp_50 = sum(r.tp_50 for r in cases)
    fp_50 = sum(r.fp_50 for r in cases)
    fn_50 = sum(r.fn_50 for r in cases)
    tp_0 = sum(r.tp_0 for r in cases)
    fp_0 = sum(r.fp_0 for r in cases)
    fn_0 = sum(r.fn_0 for r in cases)
    intersection = sum(r.intersection for r in cases)
    size_sum = sum(r.pred_voxels + r.label_voxels for r in cases)

    if mode == "paper":
        entries = sum(r.lesion_count + r.penalty_count for r in cases)
        penalised = [r.lesion_sums_with_penalties() for r in cases]
        sums = {m: sum(s[m] for s in penalised) for m in LESION_METRICS}
    else:
        entries = sum(r.lesion_count for r in cases)
        sums = {m: sum(r.lesion_sums[m] for r in cases) for m in LESION_METRICS}
    if entries:
        lesion = {f"lesion_{m}": sums[m] / entries for m in LESION_METRICS}
    else:
        lesion = {f"lesion_{m}": PENALTY[m] for m in LESION_METRICS}

    return DatasetMetrics(
        lesion_precision=_ratio(tp_50, tp_50 + fp_50),
        lesion_recall=_ratio(tp_50, tp_50 + fn_50),
        lesion_precision_greater_zero=_ratio(tp_0, tp_0 + fp_0),
        lesion_recall_greater_zero=_ratio(tp_0, tp_0 + fn_0),
        **lesion,
        lesion_dice_per_case=sum(r.dice for r in cases) / len(cases),
        lesion_dice_global=2.0 * intersection / size_sum if size_sum else 1.0,
        n_cases=len(cases),
        n_entries=entries,
    )
