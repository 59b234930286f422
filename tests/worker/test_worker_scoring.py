"""The scoring stage reads each prediction once for every paradigm and label-set version."""

from __future__ import annotations

from pathlib import Path

import pytest

import scoring.metrics
from backend.storage import FilesystemStorage
from scoring.labelcase import LabelCase
from scoring.metrics import score_case
from tests.support.world import lesion_mask, write_mask
from worker.cases import CaseInput, LabelSource
from worker.labelcache import LabelCache
from worker.pipeline import score_label_sets, score_predictions
from worker.runner.base import InfrastructureError

CASES = tuple(CaseInput(case_pk=i, case_key=f"case_{i}", input_keys=()) for i in range(4))


def _source(paradigm: str, version: int, label_set_id: int) -> LabelSource:
    return LabelSource(
        paradigm=paradigm,
        label_set_id=label_set_id,
        version=version,
        sha256=f"{paradigm}-{version}",
        storage_path=f"labels/{paradigm}/v{version}",
    )


@pytest.fixture
def world(tmp_path):
    """Labels of two paradigms in two versions each, and a team's predictions."""
    root = tmp_path / "data"
    sources = [
        _source(p, v, 10 * v + i) for i, p in enumerate(("visible", "combined")) for v in (1, 2)
    ]
    for index, case in enumerate(CASES):
        mask = lesion_mask(index)
        for source in sources:
            label = mask.copy()
            if source.paradigm == "combined":
                label[4, 0:2, 0:2] = 1
            if source.version == 2:
                label[7, 8:10, 10:12] = 1
            write_mask(root / source.storage_path / f"{case.case_key}.nii.gz", label)
        predicted = mask.copy()
        predicted[1:] &= mask[:-1]
        write_mask(tmp_path / "preds" / f"{case.case_key}.nii.gz", predicted)
    predictions = {c.case_key: tmp_path / "preds" / f"{c.case_key}.nii.gz" for c in CASES[:3]}
    return FilesystemStorage(root), sources, predictions, tmp_path


@pytest.fixture
def prediction_reads(monkeypatch):
    reads: list[str] = []
    real = scoring.metrics.read_lesion_modes

    def counting(path, *, modes):
        reads.append(Path(path).name)
        return real(path, modes=modes)

    monkeypatch.setattr(scoring.metrics, "read_lesion_modes", counting)
    return reads


@pytest.mark.parametrize("threads", [1, 2])
def test_every_version_from_one_read_equals_scoring_each_alone(
    world, prediction_reads, threads
) -> None:
    storage, sources, predictions, tmp_path = world
    found = score_label_sets(
        storage=storage,
        cases=CASES,
        sources=sources,
        predictions=predictions,
        rejected={"case_2": "case_2.nii.gz: a symbolic link, not a file"},
        workdir=tmp_path / "work",
        label_cache=LabelCache(tmp_path / "cache"),
        threads=threads,
    )
    assert sorted(prediction_reads) == sorted(p.name for p in predictions.values())
    assert len(found) == len(CASES) * len(sources)
    for case in CASES:
        for source in sources:
            label = LabelCase.read(
                storage.path(f"{source.storage_path}/{case.case_key}.nii.gz"),
                case_id=case.case_key,
            )
            alone = score_case(label, predictions.get(case.case_key))
            got = found[(case.case_key, source.label_set_id)]
            if case.case_key == "case_2":
                assert (got.status, got.errors) == (
                    "invalid",
                    ["case 'case_2': case_2.nii.gz: a symbolic link, not a file"],
                )
                continue
            assert got.to_dict() == alone.to_dict()
    assert found[("case_3", sources[0].label_set_id)].status == "missing"
    fn = {s.version: found[("case_0", s.label_set_id)].fn_50 for s in sources[:2]}
    assert fn[2] == fn[1] + 1  # version 2 has one more lesion


def test_score_predictions_keys_by_paradigm_and_names_a_missing_label(world) -> None:
    storage, sources, predictions, tmp_path = world
    labels = {"visible": sources[0], "combined": sources[2]}
    results = score_predictions(
        storage=storage,
        cases=CASES,
        labels=labels,
        predictions=predictions,
        rejected={},
        workdir=tmp_path / "work",
    )
    assert sorted(results) == sorted((c.case_key, p) for c in CASES for p in labels)
    visible, combined = results[("case_0", "visible")], results[("case_0", "combined")]
    assert combined.fn_50 == visible.fn_50 + 1  # the lesion only the fused label shows
    storage.path(f"{sources[2].storage_path}/case_1.nii.gz").unlink()
    with pytest.raises(
        InfrastructureError, match="label set combined v1 has no label for case case_1"
    ):
        score_predictions(
            storage=storage,
            cases=CASES,
            labels=labels,
            predictions=predictions,
            rejected={},
            workdir=tmp_path / "work2",
        )
