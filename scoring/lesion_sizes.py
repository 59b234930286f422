"""Lesion-size strata: which lesions of which size were found, and F1 per size range.

The scorer records, per case, the volume of every reference lesion with
whether it was detected, and the volume of every false-positive prediction
(:func:`size_record`, stored in :class:`~scoring.results.CaseResult`). The
leaderboard then pools these over a set of cases into per-lesion F1 per volume
range (:func:`size_strata`), as the TriALS paper's lesion-size analysis does
(F1 of lesions below 100 mm³, 100–1,000 mm³, above 1,000 mm³).

Counting follows the dataset counts at IoU > 0.5 (docs/evaluation.md, "Lesions
and matching"), so summed over the ranges they equal ``tp_50``, ``fn_50`` and
``fp_50``: a detected group is one true positive, in the range of its first
reference lesion's volume; every other reference lesion is a false negative
in its own range (so a lesion merged into another's group counts as missed,
as in the counts); every predicted component that is not the first of a
detected group is a false positive in the range of its own volume.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import numpy.typing as npt

from scoring.results import CaseResult

#: The TriALS paper's volume bounds (mm³): < 100, 100–1,000, > 1,000.
DEFAULT_BOUNDS_MM3: tuple[float, ...] = (100.0, 1000.0)


@dataclass(frozen=True, slots=True)
class SizeRecord:
    """One case's lesions by volume.

    Attributes
    ----------
    ref_mm3
        Volume of every reference lesion (connected component), in component order.
    ref_detected
        Whether each reference lesion counts as detected at IoU > 0.5.
    fp_mm3
        Volume of every predicted component counted as a false positive at IoU > 0.5.
    """

    ref_mm3: list[float]
    ref_detected: list[bool]
    fp_mm3: list[float]


def from_result(result: CaseResult) -> SizeRecord | None:
    """The size record stored in a case result; None if it was scored before they were kept.

    A case the aggregation skips (``reference`` mode, unusable prediction)
    contributes nothing, as it contributes nothing to the counts.

    Examples
    --------
    >>> from_result(CaseResult(case_id="c", mode="paper")) is None
    True
    >>> from_result(CaseResult(case_id="c", mode="paper", ref_lesion_mm3=[5.0],
    ...                        ref_lesion_detected=[True], fp_lesion_mm3=[]))
    SizeRecord(ref_mm3=[5.0], ref_detected=[True], fp_mm3=[])
    """
    if (
        result.ref_lesion_mm3 is None
        or result.ref_lesion_detected is None
        or result.fp_lesion_mm3 is None
    ):
        return None
    if not result.counted:
        return SizeRecord(ref_mm3=[], ref_detected=[], fp_mm3=[])
    return SizeRecord(
        ref_mm3=list(result.ref_lesion_mm3),
        ref_detected=list(result.ref_lesion_detected),
        fp_mm3=list(result.fp_lesion_mm3),
    )


def size_record(
    groups: Iterable[Any],
    detected: Sequence[bool],
    *,
    pred_sizes: npt.NDArray[np.int64],
    ref_sizes: npt.NDArray[np.int64],
    voxel_mm3: float,
) -> SizeRecord:
    """The size record of one scored case.

    Parameters
    ----------
    groups
        The matched groups (:class:`scoring.lesions.Group`: ``pred_ids``, ``ref_ids``).
    detected
        Per group, whether it is detected at IoU > 0.5.
    pred_sizes, ref_sizes
        Voxels per predicted / reference component (index k - 1 for component k).
    voxel_mm3
        Volume of one voxel (the product of the label's spacing).

    Returns
    -------
    SizeRecord

    Examples
    --------
    >>> from scoring.lesions import Group
    >>> g = Group(pred_ids=(1,), ref_ids=(2,), intersection=9, pred_voxels=10, ref_voxels=10)
    >>> r = size_record([g], [True], pred_sizes=np.array([10, 3]), ref_sizes=np.array([50, 10]),
    ...                 voxel_mm3=2.0)
    >>> r.ref_mm3, r.ref_detected, r.fp_mm3
    ([100.0, 20.0], [False, True], [6.0])
    """
    hit_refs: set[int] = set()
    hit_preds: set[int] = set()
    for group, hit in zip(groups, detected, strict=True):
        if hit:
            hit_refs.add(int(group.ref_ids[0]))
            hit_preds.add(int(group.pred_ids[0]))
    return SizeRecord(
        ref_mm3=[float(v) * voxel_mm3 for v in ref_sizes.tolist()],
        ref_detected=[k + 1 in hit_refs for k in range(int(ref_sizes.size))],
        fp_mm3=[
            float(v) * voxel_mm3
            for k, v in enumerate(pred_sizes.tolist())
            if k + 1 not in hit_preds
        ],
    )


@dataclass(frozen=True, slots=True)
class Stratum:
    """Per-lesion detection in one volume range, pooled over cases.

    Attributes
    ----------
    low, high
        The range in mm³, ``low <= volume < high`` (``high`` None: no upper bound).
    tp, fn, fp
        Detected and missed reference lesions in the range, and false-positive
        predictions of a volume in the range.
    """

    low: float
    high: float | None
    tp: int
    fn: int
    fp: int

    @property
    def f1(self) -> float | None:
        """2·TP / (2·TP + FP + FN); None when the range holds no lesion at all."""
        den = 2 * self.tp + self.fp + self.fn
        return None if den == 0 else 2 * self.tp / den

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "low": self.low,
            "high": self.high,
            "tp": self.tp,
            "fn": self.fn,
            "fp": self.fp,
            "f1": self.f1,
        }


def check_bounds(bounds: Sequence[float]) -> tuple[float, ...]:
    """Strictly increasing positive bounds, or ValueError.

    Examples
    --------
    >>> check_bounds([100, 1000])
    (100.0, 1000.0)
    """
    out = tuple(float(b) for b in bounds)
    if not out:
        raise ValueError("give at least one volume bound (mm³)")
    if out[0] <= 0 or any(b >= c for b, c in pairwise(out)):
        raise ValueError(f"volume bounds must be positive and increasing, not {list(out)}")
    return out


def size_strata(
    records: Iterable[SizeRecord], *, bounds: Sequence[float] = DEFAULT_BOUNDS_MM3
) -> list[Stratum]:
    """Per-lesion F1 per volume range, pooled over the given cases.

    Parameters
    ----------
    records
        One :class:`SizeRecord` per case.
    bounds
        Increasing volume bounds in mm³; ``(100, 1000)`` gives three ranges.

    Returns
    -------
    list of Stratum
        ``len(bounds) + 1`` ranges, smallest first.

    Examples
    --------
    >>> rec = SizeRecord(ref_mm3=[50.0, 500.0, 5000.0], ref_detected=[False, True, True],
    ...                  fp_mm3=[40.0])
    >>> [(s.tp, s.fn, s.fp, s.f1) for s in size_strata([rec])]
    [(0, 1, 1, 0.0), (1, 0, 0, 1.0), (1, 0, 0, 1.0)]
    """
    edges = check_bounds(bounds)
    n = len(edges) + 1
    tp = np.zeros(n, dtype=np.int64)
    fn = np.zeros(n, dtype=np.int64)
    fp = np.zeros(n, dtype=np.int64)
    cut = np.asarray(edges)
    for rec in records:
        if rec.ref_mm3:
            bins = np.searchsorted(cut, np.asarray(rec.ref_mm3), side="right")
            hit = np.asarray(rec.ref_detected, dtype=bool)
            tp += np.bincount(bins[hit], minlength=n)
            fn += np.bincount(bins[~hit], minlength=n)
        if rec.fp_mm3:
            fp_bins = np.searchsorted(cut, np.asarray(rec.fp_mm3), side="right")
            fp += np.bincount(fp_bins, minlength=n)
    lows = (0.0, *edges)
    highs: tuple[float | None, ...] = (*edges, None)
    return [
        Stratum(low=lows[k], high=highs[k], tp=int(tp[k]), fn=int(fn[k]), fp=int(fp[k]))
        for k in range(n)
    ]


def case_counts(
    records: Sequence[SizeRecord | None], *, bounds: Sequence[float] = DEFAULT_BOUNDS_MM3
) -> npt.NDArray[np.int64]:
    """TP, FN and FP per case and volume range in one vectorised pass.

    Parameters
    ----------
    records
        One record per case (``None``: not recorded, counted as nothing).
    bounds
        Increasing volume bounds in mm³.

    Returns
    -------
    numpy.ndarray
        ``(cases, len(bounds) + 1, 3)``: TP, FN, FP. Summed over any subset of
        cases and given to :func:`strata_of` it equals :func:`size_strata` of
        those cases.

    Examples
    --------
    >>> rec = SizeRecord(ref_mm3=[50.0, 500.0], ref_detected=[False, True], fp_mm3=[40.0])
    >>> case_counts([rec, None])[0].tolist()
    [[0, 1, 1], [1, 0, 0], [0, 0, 0]]
    """
    cut = np.asarray(check_bounds(bounds))
    n_bins = cut.size + 1
    case_of: list[int] = []
    volume: list[float] = []
    column: list[int] = []
    for i, rec in enumerate(records):
        if rec is None:
            continue
        case_of += [i] * (len(rec.ref_mm3) + len(rec.fp_mm3))
        volume += rec.ref_mm3
        volume += rec.fp_mm3
        column += [0 if hit else 1 for hit in rec.ref_detected]
        column += [2] * len(rec.fp_mm3)
    out = np.zeros((len(records) * n_bins * 3,), dtype=np.int64)
    if volume:
        bins = np.searchsorted(cut, np.asarray(volume), side="right")
        flat = (np.asarray(case_of) * n_bins + bins) * 3 + np.asarray(column)
        out += np.bincount(flat, minlength=out.size)
    return out.reshape(len(records), n_bins, 3)


def strata_of(
    counts: npt.NDArray[np.int64], *, bounds: Sequence[float] = DEFAULT_BOUNDS_MM3
) -> list[Stratum]:
    """The strata of summed :func:`case_counts` (``(bins, 3)``).

    Examples
    --------
    >>> rec = SizeRecord(ref_mm3=[50.0], ref_detected=[True], fp_mm3=[])
    >>> [s.f1 for s in strata_of(case_counts([rec]).sum(axis=0))]
    [1.0, None, None]
    """
    edges = check_bounds(bounds)
    lows = (0.0, *edges)
    highs: tuple[float | None, ...] = (*edges, None)
    return [
        Stratum(
            low=lows[k],
            high=highs[k],
            tp=int(counts[k, 0]),
            fn=int(counts[k, 1]),
            fp=int(counts[k, 2]),
        )
        for k in range(len(lows))
    ]
