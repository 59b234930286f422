"""``podium-score --labels NAME=DIR``: one read per prediction, one output folder per label set."""

from __future__ import annotations

import json

import numpy as np
import pytest

from scoring.cli import main
from tests.scoring.generators import write_image


@pytest.fixture
def two_label_sets(tmp_path):
    """Four cases, a ``visible`` and a ``combined`` label folder, predictions for three."""
    visible, combined, preds = tmp_path / "visible", tmp_path / "combined", tmp_path / "preds"
    for folder in (visible, combined, preds):
        folder.mkdir()
    for i, case_id in enumerate("abcd"):
        label = np.zeros((8, 7, 6), dtype=np.uint8)
        label[1:4, 1:4, 1:4] = 1
        write_image(visible / f"{case_id}.nii.gz", label)
        fused = label.copy()
        fused[5:7, 4:6, 3 + i % 2 : 5] = 1  # a lesion only the fused label shows
        write_image(combined / f"{case_id}.nii.gz", fused)
        if case_id != "d":
            pred = label.copy()
            pred[6, 5, 4] = 1
            write_image(preds / f"{case_id}.nii.gz", pred)
    return tmp_path, preds, visible, combined


def _cases(folder):
    return json.loads((folder / "scores.json").read_text())["cases"]


def test_several_label_folders_equal_separate_runs_from_one_read(two_label_sets, count_reads):
    root, preds, visible, combined = two_label_sets
    for name, folder in (("visible", visible), ("combined", combined)):
        assert main([str(preds), str(folder), "--out", str(root / f"alone-{name}"), "--quiet"]) == 0
    reads = count_reads
    reads.clear()
    out = root / "together"
    args = ["--labels", f"visible={visible}", "--labels", f"combined={combined}"]
    assert main([str(preds), *args, "--out", str(out), "--quiet"]) == 0
    assert sorted(p for p in reads if p.startswith(str(preds))) == [
        str(preds / f"{c}.nii.gz") for c in "abc"
    ]  # each prediction once, for both label sets
    for name in ("visible", "combined"):
        assert _cases(out / name) == _cases(root / f"alone-{name}")
        assert (out / name / "metrics.csv").read_text() == (
            root / f"alone-{name}" / "metrics.csv"
        ).read_text()
    assert _cases(out / "visible")[0]["dice"] != _cases(out / "combined")[0]["dice"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (lambda v, c: [str(v), "--labels", f"visible={v}"], "not both"),
        (lambda v, c: [], "no labels"),
        (lambda v, c: ["--labels", str(v)], "write NAME=DIR"),
        (lambda v, c: ["--labels", f"../x={v}"], "names an output folder"),
        (lambda v, c: ["--labels", f"a={v}", "--labels", f"a={c}"], "given twice"),
        (lambda v, c: ["--labels", f"a={v}", "--labels", f"b={c}-missing"], "label folder"),
    ],
)  # fmt: skip
def test_label_set_options_are_checked(two_label_sets, capsys, args, message) -> None:
    root, preds, visible, combined = two_label_sets
    assert main([str(preds), *args(visible, combined), "--out", str(root / "o"), "--quiet"]) == 2
    assert message in capsys.readouterr().err


def test_a_case_missing_from_one_label_folder_is_named(two_label_sets, capsys) -> None:
    root, preds, visible, combined = two_label_sets
    (combined / "b.nii.gz").unlink()
    args = ["--labels", f"visible={visible}", "--labels", f"combined={combined}"]
    assert main([str(preds), *args, "--out", str(root / "o"), "--quiet"]) == 2
    assert f"no label file in {combined} for 1 case(s): b" in capsys.readouterr().err


def test_an_unreadable_label_leaves_out_its_case_in_that_set_only(two_label_sets, capsys) -> None:
    root, preds, visible, combined = two_label_sets
    (combined / "a.nii.gz").write_bytes(b"broken")
    out = root / "o"
    args = ["--labels", f"visible={visible}", "--labels", f"combined={combined}"]
    assert main([str(preds), *args, "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "combined: label of case 'a'" in err
    assert [c["case_id"] for c in _cases(out / "visible")] == list("abcd")
    assert [c["case_id"] for c in _cases(out / "combined")] == list("bcd")
