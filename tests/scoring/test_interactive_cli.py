"""``podium-score --interactive`` and ``podium-clicks`` on small files, hostile folders included."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from scoring.cli import main
from scoring.interactive.cli import clicks_main
from scoring.interactive.clickfile import read_click_file
from tests.reliability.niftis import nifti_header
from tests.scoring.generators import write_image

SHAPE = (8, 7, 6)


def _label() -> np.ndarray:
    label = np.zeros(SHAPE, dtype=np.uint8)
    label[1:4, 1:4, 1:4] = 1
    label[5:7, 4:6, 3:5] = 1
    return label


def _prediction(k: int) -> np.ndarray:
    pred = np.zeros(SHAPE, dtype=np.uint8)
    if k >= 1:
        pred[1:4, 1:4, 1:4] = 1
    if k >= 2:
        pred[5:7, 4:6, 3:5] = 1
    if k == 10:
        pred[0, 6, 5] = 1  # a late false positive: final differs from click 9
    return pred


@pytest.fixture
def folders(tmp_path):
    labels, preds = tmp_path / "labels", tmp_path / "preds"
    labels.mkdir()
    preds.mkdir()
    for case_id in ("a", "b", "c"):
        write_image(labels / f"{case_id}.nii.gz", _label())
    for case_id in ("a", "b"):
        (preds / case_id).mkdir()
        for k in range(11):
            write_image(preds / case_id / f"{case_id}_{k}.nii.gz", _prediction(k))
    b = preds / "b"
    (b / "b_3.nii.gz").unlink()  # missing
    (b / "b_4.nii.gz").unlink()
    (b / "b_4.nii.gz").symlink_to(preds / "a" / "a_4.nii.gz")  # a link
    (b / "b_5.nii.gz").unlink()
    (b / "b_5.nii.gz").mkdir()  # not a file
    (b / "b_6.nii.gz").write_bytes(b"not an image")  # corrupt
    (b / "b_7.nii.gz").unlink()
    (b / "b_7.nii").write_bytes(nifti_header((32767, 32767, 32767)))  # declares 32 TiB
    (b / "b_9.nii.gz").unlink()
    os.mkfifo(b / "b_9.nii.gz")  # reading it would block: never opened
    write_image(b / "b_11.nii.gz", _prediction(10))  # a click count the phase lacks
    write_image(b / "b_03.nii.gz", _prediction(3))  # not how 3 is written
    write_image(b / "b_8.mha", _prediction(8))  # second file for 8: .nii.gz wins
    (preds / "stray").mkdir()
    # c: no folder at all
    centres = tmp_path / "centres.csv"
    centres.write_text("case_id,centre\na,China\nb,China\nc,Egypt\n")
    return tmp_path, preds, labels, centres


def _rows(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_interactive_scoring_writes_the_trials_layout_and_names_every_problem(folders, capsys):
    tmp, preds, labels, centres = folders
    out = tmp / "out"
    status = main(
        ["--interactive", str(preds), str(labels), "--centres", str(centres), "--out", str(out)]
    )
    assert status == 0
    err = capsys.readouterr().err
    assert "no prediction for 1 click count(s): 3" in err
    assert "b_4.nii.gz is a symbolic link" in err
    assert "b_5.nii.gz is not a regular file" in err
    assert "b_9.nii.gz is not a regular file" in err
    assert "b_6.nii.gz: cannot be read as an image" in err
    assert "b_7.nii: the header declares a 32767×32767×32767 volume" in err
    assert "b_11.nii.gz (this phase has 0…10 clicks)" in err
    assert "b_03.nii.gz (write click count 3 as b_3)" in err
    assert "b_8.mha (b_8.nii.gz is used)" in err
    assert "no prediction folder c/" in err
    assert "holds entries for no scored case: stray" in err

    cases = {r["Image_gt"]: r for r in _rows(out / "per_case_metrics.csv")}
    assert list(_rows(out / "per_case_metrics.csv")[0])[:8] == [
        "Image_gt",
        "Image_pm",
        "DSC@AUC",
        "ASD@AUC",
        "MSD@AUC",
        "DSC@Final",
        "ASD@Final",
        "MSD@Final",
    ]
    assert cases["a"]["status"] == "ok"
    assert (cases["b"]["status"], cases["b"]["missing_clicks"]) == ("invalid", "3")
    assert cases["b"]["invalid_clicks"] == "4 5 6 7 9"
    assert cases["c"]["missing_clicks"] == " ".join(map(str, range(11)))
    # a: nothing at 0 clicks, the big lesion (27 of 35 voxels) at 1, all of it from 2 to 9,
    # one spurious voxel at 10.
    dice = [0.0, 54 / 62, *[1.0] * 8, 70 / 71]
    assert float(cases["a"]["DSC@Final"]) == pytest.approx(70 / 71)
    assert float(cases["a"]["DSC@AUC"]) == pytest.approx(np.trapezoid(dice))
    assert float(cases["c"]["DSC@AUC"]) == 0.0
    assert float(cases["c"]["ASD@Final"]) == 9001.0

    per_click = _rows(out / "per_click_metrics.csv")
    assert len(per_click) == 33
    assert [r["status"] for r in per_click if r["case_id"] == "b"][3:8] == [
        "missing",
        "invalid",
        "invalid",
        "invalid",
        "invalid",
    ]
    metrics = _rows(out / "metrics.csv")
    assert [r["Metric"] for r in metrics] == [
        "DSC@AUC",
        "ASD@AUC",
        "MSD@AUC",
        "DSC@Final",
        "ASD@Final",
        "MSD@Final",
    ]
    mean_auc = np.mean([float(cases[c]["DSC@AUC"]) for c in "abc"])
    assert float(metrics[0]["Value"]) == pytest.approx(mean_auc)
    by_centre = {r["centre"]: r for r in _rows(out / "metrics_by_centre.csv")}
    assert (by_centre["China"]["n_cases"], by_centre["all"]["n_cases"]) == ("2", "3")
    curves = [r for r in _rows(out / "curves.csv") if r["centre"] == "all"]
    assert [int(r["clicks"]) for r in curves] == list(range(11))
    document = json.loads((out / "scores.json").read_text())
    assert document["clicks"] == 10
    assert len(document["cases"]) == 3
    assert len(document["dataset"]["curves"]["dice"]) == 11


def test_reference_mode_skips_incomplete_cases_and_takes_click_nine_as_final(folders):
    tmp, preds, labels, _ = folders
    out = tmp / "ref"
    assert (
        main(
            [
                "--interactive",
                str(preds),
                str(labels),
                "--mode",
                "reference",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    cases = {r["Image_gt"]: r for r in _rows(out / "per_case_metrics.csv")}
    assert cases["b"]["DSC@AUC"] == ""
    assert cases["c"]["DSC@AUC"] == ""
    assert float(cases["a"]["DSC@Final"]) == 1.0  # click 9, not click 10
    metrics = {r["Metric"]: float(r["Value"]) for r in _rows(out / "metrics.csv")}
    assert metrics["DSC@Final"] == 1.0
    assert metrics["DSC@AUC"] == pytest.approx(float(cases["a"]["DSC@AUC"]))


def test_unusable_input_exits_2(folders, capsys):
    tmp, preds, labels, _ = folders
    assert main(["--interactive", str(tmp / "nope"), str(labels)]) == 2
    assert "prediction folder" in capsys.readouterr().err
    assert main(["--interactive", str(preds), str(labels), "--clicks", "0"]) == 2
    (labels / "a.nii.gz").write_bytes(b"broken")
    out = tmp / "out"
    assert main(["--interactive", str(preds), str(labels), "--out", str(out), "--quiet"]) == 2
    assert "label of case 'a'" in capsys.readouterr().err
    assert {r["Image_gt"] for r in _rows(out / "per_case_metrics.csv")} == {"b", "c"}


def test_the_module_entry_point_dispatches(folders):
    tmp, preds, labels, _ = folders
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scoring",
            "--interactive",
            str(preds),
            str(labels),
            "--out",
            str(tmp / "m"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "scored 3 interactive case(s) (10 clicks) in paper mode" in done.stdout


def test_podium_clicks_writes_and_checks_click_files(folders, capsys):
    tmp, _, labels, _ = folders
    out = tmp / "clicks"
    assert clicks_main([str(labels), str(out), "--quiet"]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "a_clicks.json",
        "b_clicks.json",
        "c_clicks.json",
    ]
    got = read_click_file(out / "a_clicks.json", count=10, shape=SHAPE)
    assert len(got.clicks.lesion) == len(got.clicks.background) == 10
    label = _label()
    assert all(label[p] == 1 for p in got.clicks.lesion)
    assert all(label[p] == 0 for p in got.clicks.background)
    assert clicks_main([str(labels), str(out), "--check", "--quiet"]) == 0
    (out / "b_clicks.json").write_text('{"lesion": [[99, 0, 0]]}')
    assert clicks_main([str(labels), str(out), "--check", "--quiet"]) == 2
    assert "b_clicks.json: lesion[0]: [99, 0, 0] lies outside the 8×7×6 image" in (
        capsys.readouterr().err
    )
    assert clicks_main([str(labels), str(out), "--clicks", "0"]) == 2
    assert clicks_main([str(labels), str(out), "--background-min-mm", "50"]) == 2
