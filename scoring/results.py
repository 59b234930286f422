"""Per-case results: every quantity a dataset metric or a bootstrap sample needs.

A :class:`CaseResult` is what the scorer produces for one case (one prediction
against one label) and what the server stores per case and paradigm. Dataset
metrics for any subset of cases are sums over these fields
(:mod:`scoring.aggregate`), so nothing needs the images again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Mode = Literal["paper", "reference"]
CaseStatus = Literal["ok", "missing", "invalid"]

MODES: tuple[Mode, ...] = ("paper", "reference")

#: The per-lesion metrics, in the order of the reference evaluator's output.
LESION_METRICS: tuple[str, ...] = ("dice", "jaccard", "voe", "rvd", "assd", "rmsd", "msd")

#: The value a missed or spurious lesion contributes in ``paper`` mode (and the
#: reference's default when nothing at all is detected).
PENALTY: dict[str, float] = {
    "dice": 0.0,
    "jaccard": 0.0,
    "voe": 1.0,
    "rvd": 9001.0,
    "assd": 9001.0,
    "rmsd": 9001.0,
    "msd": 9001.0,
}


@dataclass(slots=True)
class CaseResult:
    """Everything measured on one case.

    Attributes
    ----------
    case_id
        The case's identifier (file name without extension).
    mode
        ``"paper"`` or ``"reference"``; see docs/evaluation.md.
    status
        ``"ok"``; ``"missing"`` (no prediction file) or ``"invalid"`` (unreadable,
        wrong shape, non-integer values). In ``paper`` mode a missing or invalid
        case is scored as an empty prediction; in ``reference`` mode it is
        skipped by the aggregation.
    errors
        Why the case is invalid or missing, in words a team can act on.
    warnings
        Non-fatal findings (header differences, ignored label values).
    intersection, pred_voxels, label_voxels
        ``|pred==1 ∧ label==1|``, ``|pred==1|`` and ``|label==1|``.
    dice
        The per-case binary Dice (both empty → 1, one empty → 0).
    tp_50, fp_50, fn_50, tp_0, fp_0, fn_0
        Lesion detection counts at IoU > 0.5 and IoU > 0.
    lesion_sums
        Sum of each per-lesion metric over the groups detected at IoU > 0.5
        (no penalty entries).
    lesion_count
        Number of detected groups at IoU > 0.5, the entries behind ``lesion_sums``.
    lesions
        The detected groups' entries, one dict per group (``pred_id``, ``ref_id``,
        ``pred_voxels``, ``ref_voxels``, ``iou`` and the :data:`LESION_METRICS`).
    ref_lesion_mm3, ref_lesion_detected, fp_lesion_mm3
        For the lesion-size strata (:mod:`scoring.lesion_sizes`): every reference
        lesion's volume in mm³ and whether it counts as detected at IoU > 0.5,
        and the volume of every false-positive prediction at IoU > 0.5. ``None``
        in results stored before these were recorded (re-score to fill them).
    """

    case_id: str
    mode: Mode
    status: CaseStatus = "ok"
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    intersection: int = 0
    pred_voxels: int = 0
    label_voxels: int = 0
    dice: float = 0.0
    tp_50: int = 0
    fp_50: int = 0
    fn_50: int = 0
    tp_0: int = 0
    fp_0: int = 0
    fn_0: int = 0
    lesion_sums: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(LESION_METRICS, 0.0)
    )
    lesion_count: int = 0
    lesions: list[dict[str, Any]] = field(default_factory=list)
    ref_lesion_mm3: list[float] | None = None
    ref_lesion_detected: list[bool] | None = None
    fp_lesion_mm3: list[float] | None = None

    @property
    def penalty_count(self) -> int:
        """Penalty entries ``paper`` mode pools in: one per FN and per FP at IoU > 0.5."""
        return self.fn_50 + self.fp_50

    def lesion_sums_with_penalties(self) -> dict[str, float]:
        """Each ``lesion_sums[metric]`` plus the penalty entries' contribution (``paper``).

        One call per case for every metric: the aggregation and the leaderboard's case
        rows (tens of thousands per board) both read them from here.
        """
        penalties = self.penalty_count
        return {m: self.lesion_sums[m] + PENALTY[m] * penalties for m in LESION_METRICS}

    @property
    def counted(self) -> bool:
        """Whether the aggregation uses this case (``reference`` skips unusable ones)."""
        return self.mode == "paper" or self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (floats stay floats, exact to repr)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        """Inverse of :meth:`to_dict`.

        Examples
        --------
        >>> r = CaseResult(case_id="c1", mode="paper", tp_50=2, fn_50=1)
        >>> CaseResult.from_dict(r.to_dict()) == r
        True
        >>> r.penalty_count
        1
        """
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})
