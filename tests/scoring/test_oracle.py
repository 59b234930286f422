"""The fast path agrees with the plain oracle on random cases, to 1e-6.

The oracle (``oracle.py``) works on full volumes with voxel masks and
brute-force distances; the generators mix blob lesions with perturbed copies
(shifts, dilations, cuts, drops, spurious blobs, speckle) and pure noise, where
merges, splits and misaligned ids (the reference's union bug) are common.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tests.scoring.generators import fast_case, random_case
from tests.scoring.oracle import oracle_case

COUNTS = (
    "tp_50", "fp_50", "fn_50", "tp_0", "fp_0", "fn_0",
    "intersection", "pred_voxels", "label_voxels", "lesion_count",
)  # fmt: skip


def assert_agree(fast, slow, context: str) -> None:
    assert {k: getattr(fast, k) for k in COUNTS} == {k: getattr(slow, k) for k in COUNTS}, context
    assert fast.dice == pytest.approx(slow.dice, abs=1e-12), context
    for metric, value in fast.lesion_sums.items():
        assert value == pytest.approx(slow.lesion_sums[metric], abs=1e-6), (context, metric)
    fast_entries = sorted(fast.lesions, key=lambda e: e["ref_id"])
    slow_entries = sorted(slow.lesions, key=lambda e: e["ref_id"])
    for f, s in zip(fast_entries, slow_entries, strict=True):
        assert (f["pred_id"], f["ref_id"]) == (s["pred_id"], s["ref_id"]), context
        for metric in ("dice", "jaccard", "voe", "rvd", "assd", "rmsd", "msd"):
            assert f[metric] == pytest.approx(s[metric], abs=1e-6), (context, metric)


@pytest.mark.parametrize("block", range(4))
def test_fast_path_matches_oracle_on_seeded_random_cases(block: int) -> None:
    union_bug_bites = 0
    for seed in range(block * 60, (block + 1) * 60):
        pred, label, spacing = random_case(seed)
        results = {}
        for mode in ("paper", "reference"):
            fast = fast_case(pred, label, spacing=spacing, mode=mode)
            assert_agree(
                fast, oracle_case(pred, label, spacing=spacing, mode=mode), f"seed {seed} {mode}"
            )
            results[mode] = fast
        union_bug_bites += results["paper"].tp_50 != results["reference"].tp_50
    # The generators must exercise the reference's union bug, or this test proves little.
    assert union_bug_bites > 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pred=arrays(np.uint8, (6, 5, 4), elements=st.integers(0, 2)),
    label=arrays(np.uint8, (6, 5, 4), elements=st.integers(0, 2)),
    spacing=st.tuples(*[st.sampled_from([0.5, 0.8, 1.0, 2.5])] * 3),
    mode=st.sampled_from(["paper", "reference"]),
)
def test_fast_path_matches_oracle_on_hypothesis_volumes(pred, label, spacing, mode) -> None:
    assert_agree(
        fast_case(pred, label, spacing=spacing, mode=mode),
        oracle_case(pred, label, spacing=spacing, mode=mode),
        f"{mode} {spacing}",
    )
