"""Writing interactive scores: the TriALS evaluator's CSV layouts (plus ours), curves, one JSON."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scoring.interactive.aggregate import (
    INTERACTIVE_METRICS,
    LABELS,
    InteractiveDatasetMetrics,
    case_value,
)
from scoring.interactive.results import BINARY_METRICS, InteractiveCaseResult
from scoring.report import write_csv
from scoring.results import Mode

#: The evaluator's per-case columns, then ours.
PER_CASE_COLUMNS: tuple[str, ...] = (
    "Image_gt",
    "Image_pm",
    *(LABELS[m] for m in INTERACTIVE_METRICS),
    "status",
    "centre",
    "missing_clicks",
    "invalid_clicks",
    "errors",
    "warnings",
)

#: One row per case and click count.
PER_CLICK_COLUMNS: tuple[str, ...] = (
    "case_id",
    "clicks",
    "status",
    *BINARY_METRICS,
    "tp_50",
    "fp_50",
    "fn_50",
    "tp_0",
    "fp_0",
    "fn_0",
    "pred_voxels",
    "label_voxels",
    "errors",
)


def per_case_row(result: InteractiveCaseResult, *, centre: str = "") -> dict[str, Any]:
    """One row of ``per_case_metrics.csv``; a case ``reference`` mode skips has no metric values.

    Examples
    --------
    >>> from scoring.interactive.results import StepResult
    >>> steps = [StepResult(clicks=k, dice=1.0, assd=0.0, msd=0.0) for k in range(3)]
    >>> row = per_case_row(InteractiveCaseResult.build(case_id="c", mode="paper", steps=steps))
    >>> row["Image_pm"], row["DSC@AUC"], row["MSD@Final"]
    ('pred-c', 2.0, 0.0)
    """
    row: dict[str, Any] = dict.fromkeys(PER_CASE_COLUMNS, "")
    row.update(
        Image_gt=result.case_id,
        Image_pm=f"pred-{result.case_id}",
        status=result.status,
        centre=centre,
        missing_clicks=" ".join(str(s.clicks) for s in result.steps if s.status == "missing"),
        invalid_clicks=" ".join(str(s.clicks) for s in result.steps if s.status == "invalid"),
        errors="; ".join(result.errors),
        warnings="; ".join(result.warnings),
    )
    if result.counted:
        row.update({LABELS[m]: case_value(result, m) for m in INTERACTIVE_METRICS})
    return row


def _per_click_rows(result: InteractiveCaseResult) -> list[dict[str, Any]]:
    rows = []
    for step in result.steps:
        lesions = step.lesions
        row: dict[str, Any] = {
            "case_id": result.case_id,
            "clicks": step.clicks,
            "status": step.status,
            **{m: getattr(step, m) for m in BINARY_METRICS},
            "errors": "; ".join(step.errors),
        }
        if lesions is not None:
            row.update(
                {
                    k: getattr(lesions, k)
                    for k in PER_CLICK_COLUMNS
                    if k.startswith(("tp_", "fp_", "fn_")) or k.endswith("_voxels")
                }
            )
        rows.append(row)
    return rows


def write_outputs(
    out: str | os.PathLike[str],
    *,
    mode: Mode,
    results: Sequence[InteractiveCaseResult],
    overall: InteractiveDatasetMetrics,
    by_centre: Mapping[str, InteractiveDatasetMetrics],
    centres: Mapping[str, str],
    problems: Sequence[str],
) -> list[Path]:
    """Write the interactive outputs and return their paths.

    ``per_case_metrics.csv`` and ``metrics.csv`` have the TriALS evaluator's
    layouts (then our columns); ``per_click_metrics.csv`` one row per case and
    click count; ``metrics_by_centre.csv`` one row per centre and ``all``;
    ``curves.csv`` the mean Dice, ASSD and MSD per click count, per centre and
    ``all``; ``scores.json`` everything.
    """
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    every = [("all", overall), *by_centre.items()]
    written = [
        write_csv(
            directory / "per_case_metrics.csv",
            PER_CASE_COLUMNS,
            [per_case_row(r, centre=centres.get(r.case_id, "")) for r in results],
        ),
        write_csv(
            directory / "per_click_metrics.csv",
            PER_CLICK_COLUMNS,
            [row for r in results for row in _per_click_rows(r)],
        ),
        write_csv(
            directory / "metrics.csv",
            ("Metric", "Value"),
            [{"Metric": k, "Value": v} for k, v in overall.as_dict().items()],
        ),
        write_csv(
            directory / "metrics_by_centre.csv",
            ("centre", "n_cases", *(LABELS[m] for m in INTERACTIVE_METRICS)),
            [{"centre": c, "n_cases": d.n_cases, **d.as_dict()} for c, d in every[1:] + every[:1]],
        ),
        write_csv(
            directory / "curves.csv",
            ("centre", "clicks", *BINARY_METRICS),
            [
                {"centre": c, "clicks": k, **{m: d.curves[m][k] for m in BINARY_METRICS}}
                for c, d in every[1:] + every[:1]
                for k in range(len(d.curves["dice"]))
            ],
        ),
    ]
    scores = directory / "scores.json"
    document = {
        "mode": mode,
        "clicks": overall.clicks,
        "dataset": overall.to_dict(),
        "centres": {name: values.to_dict() for name, values in by_centre.items()},
        "cases": [{**r.to_dict(), "centre": centres.get(r.case_id, "")} for r in results],
        "problems": list(problems),
    }
    scores.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n")
    return [*written, scores]
