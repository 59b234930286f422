"""Per-case interactive results: one step per click count, the curve's AUC and final value.

A case of an interactive phase has N + 1 predictions (0…N clicks of each kind).
Each is scored as one binary mask (Dice, ASSD, MSD; the TriALS interactive
evaluator's definitions) and lesion-wise (a :class:`~scoring.results.CaseResult`
under the ``paper`` rules). Per case the curve over the click counts gives an
area under the curve (trapezoid, unit step, so Dice@AUC lies in 0…N) and a
final value. The two modes (docs/evaluation.md, "Interactive phases"):

- ``paper`` (Podium's default): the curve in click order 0, 1, …, N; final = N.
- ``reference``: the TriALS evaluator's order, which sorts the per-click files
  as strings (``_0, _1, _10, _2, …, _9``), so for N = 10 click 10 is the
  third point and "final" is click 9. For comparison with TriALS only.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field
from typing import Any

from scoring.results import PENALTY, CaseResult, CaseStatus, Mode

#: The binary metrics scored per click count, in the evaluator's order.
BINARY_METRICS: tuple[str, ...] = ("dice", "assd", "msd")

#: The distance given when exactly one of prediction and label is empty (the evaluator's LARGE).
LARGE = PENALTY["assd"]


def curve_order(clicks: int, mode: Mode) -> list[int]:
    """The click counts in the order the curve takes them.

    ``reference`` replays ``sorted()`` over the file names ``<id>_<k>.json``
    (same prefix, so the suffixes decide; ``"."`` sorts before the digits).

    Examples
    --------
    >>> curve_order(10, "reference")
    [0, 1, 10, 2, 3, 4, 5, 6, 7, 8, 9]
    >>> curve_order(3, "paper")
    [0, 1, 2, 3]
    """
    ks = list(range(clicks + 1))
    return sorted(ks, key=lambda k: f"{k}.json") if mode == "reference" else ks


def trapezoid(values: list[float]) -> float:
    """Area under ``values`` at unit spacing, summed left to right as ``cumulative_trapezoid``.

    Examples
    --------
    >>> trapezoid([0.0, 1.0, 1.0])
    1.5
    """
    total = 0.0
    for a, b in itertools.pairwise(values):
        total += 1.0 * (a + b) / 2.0
    return total


@dataclass(slots=True)
class StepResult:
    """One prediction of an interactive case (``clicks`` clicks of each kind).

    Attributes
    ----------
    clicks
        The click count k.
    status
        ``"ok"``, ``"missing"`` or ``"invalid"``; a missing or invalid
        prediction is scored as an empty one.
    errors, warnings
        In words the team can act on.
    dice, assd, msd
        The binary mask metrics: Dice (both empty → 1), ASSD and MSD in mm
        (both empty → 0; exactly one empty → Dice 0 and 9001 for both).
    lesions
        The lesion-wise result of this prediction (``paper`` rules).
    """

    clicks: int
    status: CaseStatus = "ok"
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    dice: float = 0.0
    assd: float = LARGE
    msd: float = LARGE
    lesions: CaseResult | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepResult:
        """Inverse of :meth:`to_dict`."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if known.get("lesions") is not None:
            known["lesions"] = CaseResult.from_dict(known["lesions"])
        return cls(**known)


def _case_status(steps: list[StepResult]) -> CaseStatus:
    statuses = {s.status for s in steps}
    return "invalid" if "invalid" in statuses else "missing" if "missing" in statuses else "ok"


@dataclass(slots=True)
class InteractiveCaseResult:
    """Everything measured on one case of an interactive phase.

    Attributes
    ----------
    case_id, mode
        The case; ``"paper"`` or ``"reference"`` (module docstring).
    clicks
        N: the case has predictions for 0…N clicks.
    steps
        ``steps[k]``: the prediction with k clicks, in click order whatever the mode.
    status
        ``"ok"`` when every step is; otherwise ``"invalid"`` if any step is,
        else ``"missing"``.
    errors, warnings
        Per step, prefixed with the click count, then the case's own.
    order
        The click counts in the order the AUC took them.
    auc, final
        Per binary metric: the area under the curve and its last point.
    """

    case_id: str
    mode: Mode
    clicks: int
    steps: list[StepResult]
    status: CaseStatus = "ok"
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    order: list[int] = field(default_factory=list)
    auc: dict[str, float] = field(default_factory=dict)
    final: dict[str, float] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        *,
        case_id: str,
        mode: Mode,
        steps: list[StepResult],
        warnings: list[str] | None = None,
    ) -> InteractiveCaseResult:
        """Assemble a case from its steps (``steps[k]`` has ``clicks == k``) and compute the curve.

        Examples
        --------
        >>> steps = [StepResult(clicks=k, dice=k / 10, assd=1.0, msd=2.0) for k in range(11)]
        >>> r = InteractiveCaseResult.build(case_id="c", mode="reference", steps=steps)
        >>> round(r.auc["dice"], 6), r.final["dice"]
        (5.05, 0.9)
        >>> p = InteractiveCaseResult.build(case_id="c", mode="paper", steps=steps)
        >>> round(p.auc["dice"], 6), p.final["dice"], p.auc["msd"]
        (5.0, 1.0, 20.0)
        """
        if [s.clicks for s in steps] != list(range(len(steps))) or len(steps) < 2:
            raise ValueError("steps must hold click counts 0, 1, …, N (N ≥ 1) in order")
        order = curve_order(len(steps) - 1, mode)
        auc, final = {}, {}
        for m in BINARY_METRICS:
            values = [float(getattr(steps[k], m)) for k in order]
            auc[m] = trapezoid(values)
            final[m] = values[-1]
        return cls(
            case_id=case_id,
            mode=mode,
            clicks=len(steps) - 1,
            steps=steps,
            status=_case_status(steps),
            errors=[e for s in steps for e in s.errors],
            warnings=[*(w for s in steps for w in s.warnings), *(warnings or [])],
            order=order,
            auc=auc,
            final=final,
        )

    @property
    def counted(self) -> bool:
        """Whether dataset metrics use this case.

        ``reference`` skips a case with any missing or invalid prediction (the
        TriALS script stops on it); ``paper`` scores those as empty predictions.
        """
        return self.mode == "paper" or self.status == "ok"

    def curve(self, metric: str = "dice") -> list[float]:
        """``metric`` at 0…N clicks, in click order."""
        return [float(getattr(s, metric)) for s in self.steps]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict (floats exact to repr)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InteractiveCaseResult:
        """Inverse of :meth:`to_dict`."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["steps"] = [StepResult.from_dict(s) for s in known.get("steps", [])]
        return cls(**known)
