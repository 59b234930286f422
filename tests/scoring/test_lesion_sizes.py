"""Lesion-size records and strata: consistent with the counts, volumes from an independent count."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from scoring.lesion_sizes import (
    SizeRecord,
    case_counts,
    check_bounds,
    from_result,
    size_strata,
    strata_of,
)
from scoring.results import CaseResult
from tests.scoring.generators import fast_case, random_case


@pytest.mark.parametrize("mode", ["paper", "reference"])
def test_records_sum_to_the_detection_counts_on_random_cases(mode: str) -> None:
    for seed in range(40):
        pred, label, spacing = random_case(seed)
        result = fast_case(pred, label, spacing=spacing, mode=mode)  # type: ignore[arg-type]
        record = from_result(result)
        assert record is not None
        assert sum(record.ref_detected) == result.tp_50, seed
        assert len(record.ref_detected) - sum(record.ref_detected) == result.fn_50, seed
        assert len(record.fp_mm3) == result.fp_50, seed
        # Volumes: the label's 6-connected components counted by scipy, times the voxel volume.
        components, n = ndimage.label(label == 1)
        sizes = np.bincount(components.ravel())[1:] if n else np.zeros(0)
        assert sorted(record.ref_mm3) == pytest.approx(
            sorted((sizes * float(np.prod(spacing))).tolist())
        )
        strata = size_strata([record], bounds=(50.0, 500.0))
        assert sum(s.tp for s in strata) == result.tp_50
        assert sum(s.fn for s in strata) == result.fn_50
        assert sum(s.fp for s in strata) == result.fp_50


def test_strata_pool_cases_and_put_a_bound_in_the_upper_range() -> None:
    small_miss = SizeRecord(ref_mm3=[99.9, 100.0], ref_detected=[False, True], fp_mm3=[1000.0])
    big_hit = SizeRecord(ref_mm3=[1e5], ref_detected=[True], fp_mm3=[])
    strata = size_strata([small_miss, big_hit])
    assert [(s.low, s.high) for s in strata] == [(0.0, 100.0), (100.0, 1000.0), (1000.0, None)]
    assert [(s.tp, s.fn, s.fp) for s in strata] == [(0, 1, 0), (1, 0, 0), (1, 0, 1)]
    assert [s.f1 for s in strata] == [0.0, 1.0, 2 / 3]
    empty = size_strata([SizeRecord(ref_mm3=[], ref_detected=[], fp_mm3=[])])
    assert [s.f1 for s in empty] == [None, None, None]
    assert empty[0].to_dict()["f1"] is None


def test_old_results_have_no_record_and_skipped_cases_count_nothing() -> None:
    assert from_result(CaseResult(case_id="c", mode="paper")) is None
    skipped = CaseResult(
        case_id="c",
        mode="reference",
        status="missing",
        ref_lesion_mm3=[5.0],
        ref_lesion_detected=[False],
        fp_lesion_mm3=[],
    )
    assert from_result(skipped) == SizeRecord(ref_mm3=[], ref_detected=[], fp_mm3=[])
    restored = CaseResult.from_dict(skipped.to_dict())
    assert restored.ref_lesion_mm3 == [5.0]


@pytest.mark.parametrize("bounds", [[], [0, 10], [100, 100], [1000, 100]])
def test_bad_bounds_are_refused(bounds: list[float]) -> None:
    with pytest.raises(ValueError, match="bound"):
        check_bounds(bounds)


def test_vectorised_case_counts_equal_size_strata() -> None:
    records = []
    for seed in range(30):
        pred, label, spacing = random_case(seed)
        records.append(from_result(fast_case(pred, label, spacing=spacing)))
    records.append(None)
    bounds = (20.0, 200.0, 2000.0)
    counts = case_counts(records, bounds=bounds)
    assert counts.shape == (31, 4, 3)
    for subset in (range(31), range(0, 31, 3), [5]):
        expected = size_strata([records[i] for i in subset if records[i]], bounds=bounds)
        assert strata_of(counts[list(subset)].sum(axis=0), bounds=bounds) == expected
