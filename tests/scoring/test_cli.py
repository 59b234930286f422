"""``podium-score`` on small files: outputs, per-centre metrics, bad predictions, unusable input."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from scoring.cli import main
from tests.scoring.generators import write_image


@pytest.fixture
def folders(tmp_path):
    labels, preds = tmp_path / "labels", tmp_path / "preds"
    labels.mkdir()
    preds.mkdir()
    for i, case_id in enumerate(["a", "b", "c", "d"]):
        label = np.zeros((8, 7, 6), dtype=np.uint8)
        label[1:4, 1:4, 1:4] = 1
        label[5:7, 4:6, 3:5] = 1
        write_image(labels / f"{case_id}.nii.gz", label)
        pred = label.copy()
        pred[5:7, 4:6, 3:5] = 0 if i % 2 else 1
        if case_id == "a":
            write_image(preds / "a.nii.gz", pred)
        elif case_id == "b":
            write_image(preds / "b.mha", pred)  # any accepted format
        elif case_id == "c":
            (preds / "c.nii.gz").write_bytes(b"not an image")
        # d: no prediction at all
    centres = tmp_path / "centres.csv"
    centres.write_text("case_id,centre\na,China\nb,China\nc,Egypt\nd,Egypt\n")
    return tmp_path, preds, labels, centres


def _run(*args: str) -> int:
    return main([*args, "--quiet"])


def test_cli_scores_every_case_and_reports_bad_predictions(folders, capsys) -> None:
    root, preds, labels, centres = folders
    out = root / "out"
    assert _run(str(preds), str(labels), "--centres", str(centres), "--out", str(out)) == 0
    captured = capsys.readouterr()
    assert "case 'c': c.nii.gz: cannot be read as an image" in captured.err
    assert "case 'd': no prediction file" in captured.err
    with (out / "per_case_metrics.csv").open() as handle:
        rows = {row["Image_gt"]: row for row in csv.DictReader(handle)}
    assert [rows[c]["status"] for c in "abcd"] == ["ok", "ok", "invalid", "missing"]
    assert float(rows["a"]["DSC"]) == 1.0
    assert rows["a"]["centre"] == "China"
    assert rows["d"]["fn_50"] == "2"  # paper mode: scored as empty
    document = json.loads((out / "scores.json").read_text())
    assert document["mode"] == "paper"
    assert document["dataset"]["n_cases"] == 4
    assert set(document["centres"]) == {"China", "Egypt"}
    assert document["centres"]["Egypt"]["lesion_recall"] == 0.0
    assert document["centres"]["China"]["lesion_precision"] == 1.0
    with (out / "metrics_by_centre.csv").open() as handle:
        centre_rows = {row["centre"]: row for row in csv.DictReader(handle)}
    assert set(centre_rows) == {"China", "Egypt", "all"}
    with (out / "metrics.csv").open() as handle:
        assert next(csv.reader(handle)) == ["Metric", "Value"]


def test_cli_reference_mode_skips_unusable_cases_and_runs_in_processes(folders) -> None:
    root, preds, labels, _ = folders
    cases = root / "cases.csv"
    cases.write_text("a\nc\nd\n")
    out = root / "ref"
    assert _run(str(preds), str(labels), "--cases", str(cases), "--mode", "reference",
                "--out", str(out), "--jobs", "2") == 0  # fmt: skip
    document = json.loads((out / "scores.json").read_text())
    assert [c["case_id"] for c in document["cases"]] == ["a", "c", "d"]
    assert document["dataset"]["n_cases"] == 1
    assert document["dataset"]["lesion_dice_per_case"] == 1.0
    with (out / "per_case_metrics.csv").open() as handle:
        skipped = [row for row in csv.DictReader(handle) if row["status"] != "ok"]
    assert [row["DSC"] for row in skipped] == ["", ""]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda root, preds, labels: [str(root / "nowhere"), str(labels)], "prediction folder"),
        (lambda root, preds, labels: [str(preds), str(root / "nowhere")], "label folder"),
        (lambda root, preds, labels: [str(preds), str(root)], "no label files"),
        (lambda root, preds, labels: [str(preds), str(labels), "--jobs", "0"], "--jobs"),
        (lambda root, preds, labels: [str(preds), str(labels), "--cases", str(root / "x.csv")],
         "cases file"),
    ],
)  # fmt: skip
def test_cli_unusable_input_exits_2_with_a_message(folders, capsys, change, message) -> None:
    root, preds, labels, _ = folders
    assert _run(*change(root, preds, labels), "--out", str(root / "o")) == 2
    assert message in capsys.readouterr().err


def test_cli_unreadable_cases_file_and_unwritable_output_exit_2(folders, capsys) -> None:
    root, preds, labels, _ = folders
    binary = root / "cases.bin"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert _run(str(preds), str(labels), "--cases", str(binary), "--out", str(root / "o")) == 2
    assert "cannot be read as CSV text" in capsys.readouterr().err
    blocker = root / "a-file"
    blocker.write_text("")
    assert _run(str(preds), str(labels), "--out", str(blocker / "sub")) == 2
    assert f"cannot write to {blocker / 'sub'}" in capsys.readouterr().err


def test_cli_rejects_case_ids_that_are_paths(folders, capsys) -> None:
    root, preds, labels, _ = folders
    cases = root / "cases.csv"
    cases.write_text("a\n../labels/b\n")
    assert _run(str(preds), str(labels), "--cases", str(cases), "--out", str(root / "o")) == 2
    assert "'../labels/b' is not a case id" in capsys.readouterr().err


def test_cli_names_cases_without_a_centre(folders, capsys) -> None:
    root, preds, labels, _ = folders
    centres = root / "partial.csv"
    centres.write_text("a,China\n")
    assert _run(str(preds), str(labels), "--centres", str(centres), "--out", str(root / "o")) == 0
    assert "3 case(s) have no centre and count only in 'all': b, c, d" in capsys.readouterr().err


def test_cli_case_without_label_and_unreadable_label_exit_2(folders, capsys) -> None:
    root, preds, labels, _ = folders
    cases = root / "cases.csv"
    cases.write_text("a\nzz\n")
    assert _run(str(preds), str(labels), "--cases", str(cases), "--out", str(root / "o")) == 2
    assert "no label file" in capsys.readouterr().err
    (labels / "b.nii.gz").write_bytes(b"broken")
    assert _run(str(preds), str(labels), "--out", str(root / "o2")) == 2
    err = capsys.readouterr().err
    assert "label of case 'b'" in err
    document = json.loads((root / "o2" / "scores.json").read_text())
    assert [c["case_id"] for c in document["cases"]] == ["a", "c", "d"]


def test_python_dash_m_scoring_is_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "scoring", "--help"], capture_output=True, text=True, check=True
    )
    assert "podium-score" in done.stdout
    assert "--centres" in done.stdout


def test_label_cache_is_reused_and_keyed_by_content(folders) -> None:
    root, preds, labels, _ = folders
    cache = root / "cache"
    args = [str(preds), str(labels), "--label-cache", str(cache), "--jobs", "2"]
    assert _run(*args, "--out", str(root / "first")) == 0
    entries = sorted(cache.glob("*.pickle"))
    assert len(entries) == 1  # the four labels have the same content
    stamp = {e: e.stat().st_mtime_ns for e in entries}
    assert _run(*args, "--out", str(root / "second")) == 0
    assert {e: e.stat().st_mtime_ns for e in entries} == stamp  # read, not rewritten
    first = json.loads((root / "first" / "scores.json").read_text())
    second = json.loads((root / "second" / "scores.json").read_text())
    assert first["cases"] == second["cases"]
    changed = np.zeros((8, 7, 6), dtype=np.uint8)
    changed[0:2, 0:2, 0:2] = 1
    write_image(labels / "a.nii.gz", changed)
    assert _run(*args, "--out", str(root / "third")) == 0
    assert len(list(cache.glob("*.pickle"))) == 2
    third = json.loads((root / "third" / "scores.json").read_text())
    assert third["cases"][0]["label_voxels"] == 8
