"""Writing scores: the reference's CSV layouts (plus our columns) and one JSON with everything."""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from scoring.aggregate import DATASET_METRICS, DatasetMetrics
from scoring.results import CaseResult, Mode

#: The reference's per-case columns, then ours.
PER_CASE_COLUMNS: tuple[str, ...] = (
    "Image_gt",
    "Image_pm",
    "DSC",
    "precision",
    "recall",
    "precision_greater_zero",
    "recall_greater_zero",
    "status",
    "centre",
    "tp_50",
    "fp_50",
    "fn_50",
    "tp_0",
    "fp_0",
    "fn_0",
    "intersection",
    "pred_voxels",
    "label_voxels",
    "lesions_detected",
    "errors",
    "warnings",
)


def _ratio(numerator: int, denominator: int) -> float:
    return numerator / denominator if denominator else 0.0


def per_case_row(result: CaseResult, *, centre: str = "") -> dict[str, Any]:
    """One row of ``per_case_metrics.csv``.

    In ``reference`` mode a skipped case (missing or invalid) keeps its status
    and reasons but no metric values, as the reference writes no row for it.

    Examples
    --------
    >>> row = per_case_row(CaseResult(case_id="c", mode="paper", dice=0.5, tp_50=1, fp_50=1))
    >>> row["Image_pm"], row["DSC"], row["precision"], row["recall"]
    ('pred-c', 0.5, 0.5, 1.0)
    """
    row: dict[str, Any] = dict.fromkeys(PER_CASE_COLUMNS, "")
    row.update(
        Image_gt=result.case_id,
        Image_pm=f"pred-{result.case_id}",
        status=result.status,
        centre=centre,
        errors="; ".join(result.errors),
        warnings="; ".join(result.warnings),
    )
    if not result.counted:
        return row
    row.update(
        DSC=result.dice,
        precision=_ratio(result.tp_50, result.tp_50 + result.fp_50),
        recall=_ratio(result.tp_50, result.tp_50 + result.fn_50),
        precision_greater_zero=_ratio(result.tp_0, result.tp_0 + result.fp_0),
        recall_greater_zero=_ratio(result.tp_0, result.tp_0 + result.fn_0),
        tp_50=result.tp_50,
        fp_50=result.fp_50,
        fn_50=result.fn_50,
        tp_0=result.tp_0,
        fp_0=result.fp_0,
        fn_0=result.fn_0,
        intersection=result.intersection,
        pred_voxels=result.pred_voxels,
        label_voxels=result.label_voxels,
        lesions_detected=result.lesion_count,
    )
    return row


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> Path:
    """One CSV output: a header of ``columns``, then ``rows`` (both report writers use it)."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def write_outputs(
    out: str | os.PathLike[str],
    *,
    mode: Mode,
    results: Sequence[CaseResult],
    overall: DatasetMetrics,
    by_centre: Mapping[str, DatasetMetrics],
    centres: Mapping[str, str],
    problems: Sequence[str],
) -> list[Path]:
    """Write ``per_case_metrics.csv``, ``metrics.csv``, ``metrics_by_centre.csv``, ``scores.json``.

    ``metrics.csv`` has the reference's exact layout (``Metric,Value``, all
    cases); ``metrics_by_centre.csv`` has one row per centre and one for
    ``all``. Returns the paths written.
    """
    directory = Path(out)
    directory.mkdir(parents=True, exist_ok=True)
    per_case = write_csv(
        directory / "per_case_metrics.csv",
        PER_CASE_COLUMNS,
        (per_case_row(r, centre=centres.get(r.case_id, "")) for r in results),
    )
    metrics = write_csv(
        directory / "metrics.csv",
        ("Metric", "Value"),
        ({"Metric": name, "Value": value} for name, value in overall.as_dict().items()),
    )
    columns = ("centre", "n_cases", "n_entries", *DATASET_METRICS)
    by_centre_path = write_csv(
        directory / "metrics_by_centre.csv",
        columns,
        (
            dict(zip(columns, [name, v.n_cases, v.n_entries, *v.as_dict().values()], strict=True))
            for name, v in [*by_centre.items(), ("all", overall)]
        ),
    )
    scores = directory / "scores.json"
    document = {
        "mode": mode,
        "dataset": overall.to_dict(),
        "centres": {name: values.to_dict() for name, values in by_centre.items()},
        "cases": [{**r.to_dict(), "centre": centres.get(r.case_id, "")} for r in results],
        "problems": list(problems),
    }
    scores.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n")
    return [per_case, metrics, by_centre_path, scores]
