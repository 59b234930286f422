"""The real TriALS sample cases: ``reference`` and ``paper`` modes reproduce the expected CSVs.

Each 637×512×512 volume is read once for the module; both modes are scored
from the same components (the files are uint8 0/1, where the modes read alike).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from scoring.aggregate import dataset_metrics
from scoring.cli import main
from scoring.io import read_lesions
from scoring.labelcase import LabelCase
from scoring.lesions import label_components
from scoring.metrics import score_components
from scoring.report import per_case_row

# The repository's own copy (tests/data/trials-sample, provenance in its README).
SAMPLE = Path(
    os.environ.get(
        "PODIUM_TRIALS_SAMPLE", Path(__file__).resolve().parents[1] / "data" / "trials-sample"
    )
)

pytestmark = pytest.mark.slow


def _metrics_csv(path: Path) -> dict[str, float]:
    with path.open() as handle:
        return {row["Metric"]: float(row["Value"]) for row in csv.DictReader(handle)}


def _per_case_csv(path: Path) -> list[dict[str, str]]:
    with path.open() as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def sample_components():
    cases = (SAMPLE / "cases.csv").read_text().split()
    loaded = []
    for case_id in cases:
        label = read_lesions(SAMPLE / "labels" / f"{case_id}.nii.gz")
        pred = read_lesions(SAMPLE / "predictions" / f"{case_id}.nii.gz")
        assert label.warnings == pred.warnings == []  # uint8, values 0 and 1 only
        loaded.append(
            (
                case_id,
                label.geometry,
                label_components(label.mask, label.offset),
                label_components(pred.mask, pred.offset),
            )
        )
    return loaded


@pytest.mark.parametrize("mode", ["reference", "paper"])
def test_sample_cases_reproduce_expected_output(sample_components, mode) -> None:
    results = []
    for case_id, geometry, ref_components, pred_components in sample_components:
        label = LabelCase(case_id=case_id, mode=mode, geometry=geometry, components=ref_components)
        results.append(score_components(pred_components, label, mode=mode))
    expected_dir = SAMPLE / f"{mode}-output"
    expected = _metrics_csv(expected_dir / "metrics.csv")
    got = dataset_metrics(results, mode=mode).as_dict()
    assert list(got) == list(expected)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, abs=1e-6), name
    rows = [per_case_row(r) for r in results]
    for row, want in zip(rows, _per_case_csv(expected_dir / "per_case_metrics.csv"), strict=True):
        assert (row["Image_gt"], row["Image_pm"]) == (want["Image_gt"], want["Image_pm"])
        for column in (
            "DSC",
            "precision",
            "recall",
            "precision_greater_zero",
            "recall_greater_zero",
        ):
            assert row[column] == pytest.approx(float(want[column]), abs=1e-6), column


def test_cli_on_the_sample_writes_the_reference_files(tmp_path, capsys) -> None:
    out = tmp_path / "out"
    status = main(
        [str(SAMPLE / "predictions"), str(SAMPLE / "labels"), "--cases", str(SAMPLE / "cases.csv"),
         "--mode", "reference", "--out", str(out), "--jobs", "2", "--quiet"]
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    expected = _metrics_csv(SAMPLE / "reference-output" / "metrics.csv")
    got = _metrics_csv(out / "metrics.csv")
    assert list(got) == list(expected)
    assert all(got[k] == pytest.approx(v, abs=1e-6) for k, v in expected.items())
    header = (out / "per_case_metrics.csv").read_text().splitlines()[0]
    reference_header = (
        (SAMPLE / "reference-output" / "per_case_metrics.csv").read_text().splitlines()[0]
    )
    assert header.startswith(reference_header + ",")
