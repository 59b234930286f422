"""One read per prediction: scoring against several labels equals scoring against each alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import scoring.io
import scoring.metrics
from scoring.components import label_pieces
from scoring.labelcase import LabelCase
from scoring.metrics import score_case, score_prediction
from scoring.neighbourhoods import Piece
from tests.scoring.generators import SHAPES, random_case, write_image

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "trials-sample"


def _same(a: object, b: object, where: str) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        assert a.keys() == b.keys(), where
        for key in a:
            _same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        assert len(a) == len(b), where
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            _same(u, v, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert a == pytest.approx(b, abs=1e-12), where
    else:
        assert a == b, where


def assert_same(together, alone, context: str) -> None:
    """Identical results, floats to 1e-12 (the same computation, so in fact bit for bit)."""
    assert len(together) == len(alone), context
    for i, (got, expected) in enumerate(zip(together, alone, strict=True)):
        _same(got.to_dict(), expected.to_dict(), f"{context} label {i}")


def _another_version(label: LabelCase) -> LabelCase:
    """The label without its first lesion neighbourhood: a new version, built in memory."""
    kept = [Piece(r.start, r.labels != 0) for r in label.components.regions[1:]]
    return LabelCase(
        case_id=label.case_id,
        mode=label.mode,
        geometry=label.geometry,
        components=label_pieces(kept),
    )


@pytest.mark.parametrize("case_id", ["venous_0", "venous_11"])
def test_sample_case_scored_once_against_paradigms_versions_and_modes(case_id, count_reads) -> None:
    paper = LabelCase.read(SAMPLE / "labels" / f"{case_id}.nii.gz", case_id=case_id)
    # A uint8 label reads the same in both modes; the reference-mode label shares its lesions.
    reference = LabelCase(
        case_id=case_id, mode="reference", geometry=paper.geometry, components=paper.components
    )
    labels = [paper, reference, _another_version(paper)]
    prediction = SAMPLE / "predictions" / f"{case_id}.nii.gz"
    count_reads.clear()
    together = score_prediction(labels, prediction)
    assert count_reads == [str(prediction)]
    alone = [score_case(label, prediction) for label in labels]
    assert_same(together, alone, case_id)
    assert together[2].label_voxels < together[0].label_voxels  # really another version


def test_generated_cases_scored_once_equal_separate_runs(tmp_path, count_reads) -> None:
    for seed in range(30):
        pred, label, spacing = random_case(seed)
        other, _, other_spacing = random_case(seed + len(SHAPES))  # same shape, other label
        wrong_shape = np.zeros(SHAPES[(seed + 1) % len(SHAPES)], dtype=np.uint8)
        pred_path = write_image(tmp_path / f"p{seed}.nii.gz", pred, spacing=spacing)
        files = [
            (write_image(tmp_path / f"l{seed}.nii.gz", label, spacing=spacing), "paper"),
            (write_image(tmp_path / f"l{seed}.nii.gz", label, spacing=spacing), "reference"),
            (write_image(tmp_path / f"o{seed}.nii.gz", other, spacing=other_spacing), "paper"),
            (write_image(tmp_path / f"w{seed}.nii.gz", wrong_shape), "reference"),
        ]
        labels = [LabelCase.read(f, case_id=f"c{seed}", mode=m) for f, m in files]  # type: ignore[arg-type]
        count_reads.clear()
        together = score_prediction(labels, pred_path)
        assert count_reads == [str(pred_path)], seed
        assert_same(together, [score_case(lab, pred_path) for lab in labels], f"seed {seed}")
        assert together[3].status == "invalid"  # the shape mismatch is that label's alone
        assert together[0].status == "ok"


def test_each_mode_reads_the_values_its_own_way_from_one_read(tmp_path, count_reads) -> None:
    label = np.zeros((6, 5, 4), dtype=np.uint8)
    label[1:4, 1:4, 1:3] = 1
    pred = label.astype(np.float32)
    pred[0, 0, 0] = 1.5  # the reference's int8 cast makes it lesion; paper mode refuses it
    label_path = write_image(tmp_path / "l.nii.gz", label)
    pred_path = write_image(tmp_path / "p.nii.gz", pred)
    labels = [LabelCase.read(label_path, case_id="c", mode=m) for m in ("paper", "reference")]
    count_reads.clear()
    paper, reference = score_prediction(labels, pred_path)
    assert len(count_reads) == 1
    assert paper.status == "invalid"
    assert "not whole numbers" in paper.errors[0]
    assert (reference.status, reference.pred_voxels) == ("ok", int(label.sum()) + 1)


def test_missing_and_unreadable_predictions_fail_every_label(tmp_path) -> None:
    mask = np.zeros((4, 4, 4), dtype=bool)
    mask[1, 1, 1] = True
    labels = [LabelCase.from_mask(mask, case_id="c", mode=m) for m in ("paper", "reference")]
    assert [r.status for r in score_prediction(labels, tmp_path / "none.nii.gz")] == [
        "missing",
        "missing",
    ]
    broken = tmp_path / "broken.nii.gz"
    broken.write_bytes(b"not an image")
    results = score_prediction(labels, broken)
    assert [r.status for r in results] == ["invalid", "invalid"]
    assert all("cannot be read as an image" in r.errors[0] for r in results)
    assert score_prediction([], broken) == []


def test_the_prediction_surfaces_are_computed_once_for_all_labels(tmp_path, monkeypatch) -> None:
    pred, label, spacing = random_case(4)
    pred_path = write_image(tmp_path / "p.nii.gz", pred, spacing=spacing)
    label_path = write_image(tmp_path / "l.nii.gz", label, spacing=spacing)
    labels = [LabelCase.read(label_path, case_id="c") for _ in range(3)]
    calls: list[tuple[int, ...]] = []
    real = scoring.metrics.group_surface

    def counting(components, ids):
        calls.append(tuple(ids))
        return real(components, ids)

    monkeypatch.setattr(scoring.metrics, "group_surface", counting)
    results = score_prediction(labels, pred_path)
    assert results[0].lesion_count > 0
    assert len(calls) == len(set(calls)) == results[0].lesion_count
