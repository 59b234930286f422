"""The prepared-label cache: hits skip loading, bad entries fall back to loading."""

from __future__ import annotations

import numpy as np

from scoring.labelcase import LabelCase
from worker.labelcache import LabelCache


def _label(case_id: str) -> LabelCase:
    mask = np.zeros((6, 6, 6), dtype=bool)
    mask[1:3, 1:3, 1:3] = True
    return LabelCase.from_mask(mask, case_id=case_id)


def test_a_prepared_label_is_loaded_once_per_label_set_version(tmp_path):
    cache = LabelCache(tmp_path)
    loads = []

    def load():
        loads.append(1)
        return _label("c1")

    first = cache.get(label_set=(3, "ab" * 32), case_key="c1", mode="paper", load=load)
    second = cache.get(label_set=(3, "ab" * 32), case_key="c1", mode="paper", load=load)
    assert len(loads) == 1
    assert second.case_id == "c1"
    assert second.components.count == first.components.count == 1
    # Another version, or the other mode, is another entry.
    cache.get(label_set=(4, "cd" * 32), case_key="c1", mode="paper", load=load)
    cache.get(label_set=(3, "ab" * 32), case_key="c1", mode="reference", load=load)
    assert len(loads) == 3


def test_an_unreadable_entry_is_replaced(tmp_path):
    cache = LabelCache(tmp_path)
    cache.get(label_set=(1, "x"), case_key="c1", mode="paper", load=lambda: _label("c1"))
    (entry,) = tmp_path.rglob("*.pickle")
    entry.write_bytes(b"not a pickle")
    again = cache.get(label_set=(1, "x"), case_key="c1", mode="paper", load=lambda: _label("c1"))
    assert again.case_id == "c1"
    assert entry.read_bytes() != b"not a pickle"


def test_no_root_means_no_cache(tmp_path):
    loads = []
    cache = LabelCache(None)
    for _ in range(2):
        cache.get(label_set=(1, "x"), case_key="c", mode="paper",
                  load=lambda: loads.append(1) or _label("c"))  # fmt: skip
    assert len(loads) == 2
