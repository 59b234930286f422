"""Dataset metrics from per-case quantities, vectorised for any number of case subsets.

The 13 dataset metrics of docs/evaluation.md ("Dataset metrics") are simple
functions of sums over cases. :func:`case_quantities` turns a team's stored
:class:`~scoring.results.CaseResult` list into a matrix with one row per case
and one column per summed quantity (:data:`QUANTITIES`); a subset of cases, a
bootstrap sample or a single case is then a weight vector over the rows, and
:func:`metrics_from_sums` turns the weighted sums into metric values. The same
code path serves the point leaderboard (weights all 1) and every bootstrap
sample (weights = how often each case was drawn), so the two always agree.

The metrics ranked, their directions and the values a team without a
submission gets live here too.

Interactive phases rank the same way on the six curve metrics of
:mod:`scoring.interactive.aggregate` (DSC@AUC, …, MSD@Final): their results
are :class:`~scoring.interactive.results.InteractiveCaseResult`, whose rows add
those per-case values (and fill the lesion-wise columns from the prediction at
the last click, so a board may rank on both kinds). The worst AUC of a distance
grows with the click count N, so the rows carry N too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Literal

import numpy as np
import numpy.typing as npt

from scoring.aggregate import worst_metrics as worst_dataset_metrics
from scoring.interactive.aggregate import DIRECTIONS as INTERACTIVE_DIRECTIONS
from scoring.interactive.aggregate import INTERACTIVE_METRICS, worst_value
from scoring.interactive.aggregate import case_quantities as interactive_quantities
from scoring.interactive.results import InteractiveCaseResult
from scoring.interactive.settings import MAX_CLICKS
from scoring.results import LESION_METRICS, PENALTY, CaseResult, Mode

FloatArray = npt.NDArray[np.float64]
Direction = Literal["higher", "lower", "lower_abs"]

#: Which way is better for each ranked metric; RVD is ranked by its absolute value.
METRIC_DIRECTIONS: dict[str, Direction] = {
    "lesion_dice_per_case": "higher",
    "lesion_dice_global": "higher",
    "lesion_precision": "higher",
    "lesion_recall": "higher",
    "lesion_precision_greater_zero": "higher",
    "lesion_recall_greater_zero": "higher",
    "lesion_voe": "lower",
    "lesion_rvd": "lower_abs",
    "lesion_assd": "lower",
    "lesion_rmsd": "lower",
    "lesion_msd": "lower",
    **INTERACTIVE_DIRECTIONS,
}

#: The six detection-oriented metrics (Task 2, combined paradigm).
DETECTION_METRICS: tuple[str, ...] = (
    "lesion_dice_per_case",
    "lesion_dice_global",
    "lesion_precision",
    "lesion_recall",
    "lesion_precision_greater_zero",
    "lesion_recall_greater_zero",
)

#: All eleven ranked metrics (Task 1 and Task 2, visible paradigm).
FULL_METRICS: tuple[str, ...] = (
    *DETECTION_METRICS,
    "lesion_voe",
    "lesion_rvd",
    "lesion_assd",
    "lesion_rmsd",
    "lesion_msd",
)

#: The metric set ranked for each paradigm.
METRIC_SETS: dict[str, tuple[str, ...]] = {
    "venous": FULL_METRICS,
    "visible": FULL_METRICS,
    "combined": DETECTION_METRICS,
}

#: What a team with no scored submission for a centre gets for each metric
#: (Dice 0, precision/recall 0, VOE 1, 9001 for the distances and RVD; for the
#: interactive AUCs of distances, 9001 at each of the most clicks a phase may have:
#: :func:`worst_metrics` takes the board's own click count instead when it knows it).
WORST_VALUES: dict[str, float] = {
    **worst_dataset_metrics().as_dict(),
    **{m: float(worst_value(m, MAX_CLICKS)) for m in INTERACTIVE_METRICS},
}

#: A case's stored result: lesion-wise, or an interactive case's curve (and its last step).
Result = CaseResult | InteractiveCaseResult

#: Columns of a :func:`case_quantities` matrix; every one is summed over cases.
QUANTITIES: tuple[str, ...] = (
    "counted",
    "intersection",
    "size_sum",
    "dice",
    "tp_50",
    "fp_50",
    "fn_50",
    "tp_0",
    "fp_0",
    "fn_0",
    *(f"sum_{m}" for m in LESION_METRICS),
    "lesion_entries",
    # Interactive results only: 1 per case, N per case, 1 per counted case, per-case values.
    "interactive_cases",
    "interactive_clicks",
    "interactive_counted",
    *(f"sum_{m}" for m in INTERACTIVE_METRICS),
)
_COL = {name: i for i, name in enumerate(QUANTITIES)}


def _lesion_row(r: CaseResult, *, mode: Mode) -> tuple[float, ...] | None:
    if r.mode != mode:
        raise ValueError(f"case {r.case_id!r} was scored in {r.mode!r} mode, not {mode!r}")
    if not r.counted:
        return None
    penalised = mode == "paper"
    sums = r.lesion_sums_with_penalties() if penalised else r.lesion_sums
    penalties = r.penalty_count if penalised else 0
    return (
        1.0,
        r.intersection,
        r.pred_voxels + r.label_voxels,
        r.dice,
        r.tp_50,
        r.fp_50,
        r.fn_50,
        r.tp_0,
        r.fp_0,
        r.fn_0,
        *(sums[m] for m in LESION_METRICS),
        r.lesion_count + penalties,
    )


#: The lesion-wise columns (the first ones): a board without interactive results keeps only
#: these, so its bootstrap sums no column it never reads.
LESION_WIDTH = _COL["lesion_entries"] + 1


def table_width(results: Iterable[Result]) -> int:
    """How many :data:`QUANTITIES` columns a board of ``results`` needs."""
    interactive = any(isinstance(r, InteractiveCaseResult) for r in results)
    return len(QUANTITIES) if interactive else LESION_WIDTH


def check_clicks(results: Iterable[Result]) -> None:
    """Refuse interactive results of different click counts: their AUCs do not compare.

    Raises
    ------
    ValueError
        Naming the click counts found.
    """
    clicks = {r.clicks for r in results if isinstance(r, InteractiveCaseResult)}
    if len(clicks) > 1:
        raise ValueError(
            f"interactive results mix click counts {sorted(clicks)}: re-score them with one"
        )


def case_quantities(results: Sequence[Result], *, mode: Mode) -> FloatArray:
    """One row per case of every quantity the dataset metrics sum.

    Parameters
    ----------
    results
        One team's results for one paradigm, in the order the rows should take.
    mode
        ``"paper"`` pools one penalty entry per FN and FP at IoU > 0.5 into the
        per-lesion sums and counts; ``"reference"`` uses detected lesions only
        and zeroes the cases it skips (``not result.counted``).

    Returns
    -------
    numpy.ndarray
        Shape ``(len(results), len(QUANTITIES))``, float64; integer counts are
        exact in float64.

    Raises
    ------
    ValueError
        If a result was scored in another mode (its matching differs).

    Examples
    --------
    >>> from scoring.results import CaseResult
    >>> r = CaseResult(case_id="a", mode="paper", tp_50=1, fn_50=2, lesion_count=1)
    >>> q = case_quantities([r], mode="paper")
    >>> q.shape == (1, len(QUANTITIES)), q[0, QUANTITIES.index("lesion_entries")]
    (True, np.float64(3.0))
    """
    rows = np.zeros((len(results), len(QUANTITIES)), dtype=np.float64)
    check_clicks(results)
    for i, r in enumerate(results):
        if isinstance(r, InteractiveCaseResult):
            (extra,) = interactive_quantities([r], mode=mode)
            rows[i, _COL["interactive_cases"] :] = (1.0, r.clicks, *extra)
            # The lesion-wise columns: the prediction at the last click (paper rules).
            last = r.steps[r.clicks].lesions if r.counted else None
            lesion = None if last is None else _lesion_row(last, mode="paper")
        else:
            lesion = _lesion_row(r, mode=mode)
        if lesion is not None:
            rows[i, :LESION_WIDTH] = lesion
    return rows


def _ratio(num: FloatArray, den: FloatArray, *, empty: float) -> FloatArray:
    """``num / den``, ``empty`` where ``den`` is 0 (one division pass, no temporaries)."""
    num, den = np.broadcast_arrays(np.asarray(num, dtype=np.float64), den)
    out = np.full(num.shape, empty, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def metrics_from_sums(
    sums: FloatArray, metrics: Sequence[str] | None = None
) -> dict[str, FloatArray]:
    """Every dataset metric (or only ``metrics``) from summed case quantities.

    Parameters
    ----------
    sums
        Shape ``(..., len(QUANTITIES))``: the :func:`case_quantities` rows of a
        case subset summed (or weighted and summed) over cases.
    metrics
        The metrics wanted (default all): a board ranking six metrics over
        thousands of bootstrap samples need not compute the other seven.

    Returns
    -------
    dict of str to numpy.ndarray
        Keyed by :data:`scoring.aggregate.DATASET_METRICS` (or ``metrics``),
        each of shape ``sums.shape[:-1]``.

    Notes
    -----
    As :func:`scoring.aggregate.dataset_metrics`: precision and recall are 0
    when their denominator is 0; global Dice is 1 when every counted case is
    empty; a per-lesion metric with no entry at all takes its penalty value
    (the reference evaluator's default); with no counted case at all every
    metric takes its worst value (:data:`WORST_VALUES`).

    Examples
    --------
    >>> from scoring.results import CaseResult
    >>> rs = [CaseResult(case_id="a", mode="paper", tp_50=1, fp_50=1, tp_0=2, dice=0.5,
    ...                  intersection=5, pred_voxels=10, label_voxels=10, lesion_count=1)]
    >>> m = metrics_from_sums(case_quantities(rs, mode="paper").sum(axis=0))
    >>> float(m["lesion_precision"]), float(m["lesion_dice_global"])
    (0.5, 0.5)
    >>> sorted(metrics_from_sums(case_quantities(rs, mode="paper"), ["lesion_voe"]))
    ['lesion_voe']
    """
    width = sums.shape[-1]
    s = {name: sums[..., i] for name, i in _COL.items() if i < width}
    if width < len(QUANTITIES) and any(m in INTERACTIVE_DIRECTIONS for m in metrics or ()):
        raise ValueError("the interactive metrics need interactive results (per-case curves)")
    tp50, tp0 = s["tp_50"], s["tp_0"]

    def per_lesion(metric: str) -> FloatArray:
        return _ratio(s[f"sum_{metric}"], s["lesion_entries"], empty=PENALTY[metric])

    def global_dice() -> FloatArray:
        # No counted case at all is a missing submission: worst value, not "all empty".
        value = _ratio(2.0 * s["intersection"], s["size_sum"], empty=1.0)
        return np.where(s["counted"] > 0, value, 0.0)

    def interactive(metric: str) -> FloatArray:
        # N of these rows (every case carries it), to give an empty subset its worst value.
        clicks = _ratio(s["interactive_clicks"], s["interactive_cases"], empty=MAX_CLICKS)
        counted = s["interactive_counted"]
        mean = _ratio(s[f"sum_{metric}"], counted, empty=0.0)
        return np.where(counted > 0, mean, worst_value(metric, clicks))

    formulas: dict[str, Callable[[], FloatArray]] = {
        "lesion_precision": lambda: _ratio(tp50, tp50 + s["fp_50"], empty=0.0),
        "lesion_recall": lambda: _ratio(tp50, tp50 + s["fn_50"], empty=0.0),
        "lesion_precision_greater_zero": lambda: _ratio(tp0, tp0 + s["fp_0"], empty=0.0),
        "lesion_recall_greater_zero": lambda: _ratio(tp0, tp0 + s["fn_0"], empty=0.0),
        **{f"lesion_{m}": partial(per_lesion, m) for m in LESION_METRICS},
        "lesion_dice_per_case": lambda: _ratio(s["dice"], s["counted"], empty=0.0),
        "lesion_dice_global": global_dice,
        **{m: partial(interactive, m) for m in INTERACTIVE_METRICS},
    }
    wanted = list(formulas) if metrics is None else list(metrics)
    return {m: formulas[m]() for m in wanted}


def worst_metrics(
    metrics: Sequence[str], shape: tuple[int, ...] = (), *, clicks: float | None = None
) -> dict[str, FloatArray]:
    """:data:`WORST_VALUES` for ``metrics`` as arrays of ``shape``.

    ``clicks``: an interactive board's N, for the worst AUC of its distances.

    Examples
    --------
    >>> float(worst_metrics(["lesion_voe"])["lesion_voe"])
    1.0
    >>> float(worst_metrics(["interactive_asd_auc"], clicks=10)["interactive_asd_auc"])
    90010.0
    """
    return {
        m: np.full(
            shape,
            worst_value(m, clicks)
            if clicks is not None and m in INTERACTIVE_DIRECTIONS
            else WORST_VALUES[m],
            dtype=np.float64,
        )
        for m in metrics
    }


def clicks_of(sums: FloatArray) -> float | None:
    """The click count N behind summed rows of interactive results (``None``: none there).

    Examples
    --------
    >>> s = np.zeros((2, len(QUANTITIES)))
    >>> s[0, QUANTITIES.index("interactive_cases")] = 3
    >>> s[0, QUANTITIES.index("interactive_clicks")] = 30
    >>> clicks_of(s), clicks_of(np.zeros(len(QUANTITIES)))
    (10.0, None)
    """
    if sums.shape[-1] < len(QUANTITIES):
        return None  # lesion-wise columns only
    cases = sums[..., _COL["interactive_cases"]]
    seen = cases > 0
    if not seen.any():
        return None
    return float((sums[..., _COL["interactive_clicks"]][seen] / cases[seen]).max())


def ranking_keys(values: Mapping[str, FloatArray], metrics: Sequence[str]) -> FloatArray:
    """Metric values turned into "lower is better" keys, stacked on a last axis.

    Examples
    --------
    >>> k = ranking_keys({"lesion_rvd": np.array(-0.2), "lesion_dice_global": np.array(0.8)},
    ...                  ["lesion_rvd", "lesion_dice_global"])
    >>> k.tolist()
    [0.2, -0.8]
    """
    keys = []
    for m in metrics:
        direction = METRIC_DIRECTIONS.get(m)
        if direction is None:
            raise ValueError(f"{m!r} is not a ranked metric; known: {sorted(METRIC_DIRECTIONS)}")
        v = np.asarray(values[m], dtype=np.float64)
        keys.append(-v if direction == "higher" else np.abs(v) if direction == "lower_abs" else v)
    return np.stack(keys, axis=-1)
