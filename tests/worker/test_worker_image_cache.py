"""The worker's image cache index: kept across processes, never in the way of a run."""

from __future__ import annotations

from worker.image_cache import INDEX_FILE, CacheEntry, CacheIndex, victims


def _entry(key: str, used: float, size: int = 10) -> CacheEntry:
    return CacheEntry(
        key=key, engine_ref=f"ref-{key}", size_bytes=size, last_used=used, source="registry"
    )


def test_the_index_is_kept_between_editors(tmp_path):
    with CacheIndex(tmp_path / "cache").edit() as entries:
        entries["a"] = _entry("a", 1.0)
    again = CacheIndex(tmp_path / "cache").snapshot()
    assert again == {"a": _entry("a", 1.0)}


def test_a_damaged_index_is_an_empty_one(tmp_path):
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / INDEX_FILE).write_text("{not json")
    assert CacheIndex(folder).snapshot() == {}
    (folder / INDEX_FILE).write_text('{"entries": [{"key": "a", "unknown": 1}]}')
    assert CacheIndex(folder).snapshot() == {}


def test_an_unwritable_folder_costs_the_cache_not_the_run(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    with CacheIndex(blocker / "cache").edit() as entries:
        entries["a"] = _entry("a", 1.0)  # accepted, and forgotten
    assert CacheIndex(blocker / "cache").snapshot() == {}


def test_eviction_takes_the_least_recently_used_first_and_spares_the_kept():
    entries = [_entry("old", 1.0, 40), _entry("mid", 2.0, 40), _entry("new", 3.0, 40)]
    assert [v.key for v in victims(entries, budget_bytes=50, keep={"old"})] == ["mid", "new"]
    assert [v.key for v in victims(entries, budget_bytes=80, keep=set())] == ["old"]
    assert victims(entries, budget_bytes=0, keep={"old", "mid", "new"}) == []
