"""The worker's input cache: copies by key, linked into a run's /input, bounded by retain."""

from __future__ import annotations

import pytest

from backend.storage import FilesystemStorage, StorageError
from worker.input_cache import CachedInputs, InputCache


@pytest.fixture
def storage(tmp_path):
    root = tmp_path / "data"
    for key, text in (("inputs/a.1111.nii.gz", "a"), ("inputs/b.2222.nii.gz", "b")):
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_text(text)
    return FilesystemStorage(root)


def test_a_filled_copy_is_linked_into_the_run_and_survives_the_storage(storage, tmp_path):
    cache = InputCache(tmp_path / "cache")
    assert cache.fill(storage, ["inputs/a.1111.nii.gz"]) == 1
    assert cache.fill(storage, ["inputs/a.1111.nii.gz"]) == 0  # held already
    storage.delete("inputs/a.1111.nii.gz")
    staged = CachedInputs(storage, cache)
    staged.fetch("inputs/a.1111.nii.gz", tmp_path / "run" / "a.nii.gz")
    assert (tmp_path / "run" / "a.nii.gz").read_text() == "a"
    assert (tmp_path / "run" / "a.nii.gz").stat().st_ino == cache.path(
        "inputs/a.1111.nii.gz"
    ).stat().st_ino
    # What the cache does not hold comes from storage, as without it.
    staged.fetch("inputs/b.2222.nii.gz", tmp_path / "run" / "b.nii.gz")
    assert (tmp_path / "run" / "b.nii.gz").read_text() == "b"
    with pytest.raises(StorageError):
        staged.fetch("inputs/a.missing.nii.gz", tmp_path / "run" / "c.nii.gz")


def test_a_failed_fetch_leaves_nothing_half_written(storage, tmp_path):
    cache = InputCache(tmp_path / "cache")
    with pytest.raises(StorageError):
        cache.fill(storage, ["inputs/b.2222.nii.gz", "inputs/gone.nii.gz"])
    assert cache.path("inputs/b.2222.nii.gz").is_file()
    assert sorted(p.name for p in (tmp_path / "cache" / "inputs").iterdir()) == ["b.2222.nii.gz"]


def test_retain_keeps_only_what_the_running_and_next_runs_need(storage, tmp_path):
    cache = InputCache(tmp_path / "cache")
    cache.fill(storage, ["inputs/a.1111.nii.gz", "inputs/b.2222.nii.gz"])
    assert cache.retain({"inputs/b.2222.nii.gz"}) == 1
    assert not cache.path("inputs/a.1111.nii.gz").exists()
    assert cache.path("inputs/b.2222.nii.gz").is_file()
    assert cache.retain(set()) == 1
    assert not (tmp_path / "cache" / "inputs").exists()  # empty folders go too
    assert not cache.link("inputs/b.2222.nii.gz", tmp_path / "run" / "b.nii.gz")


def test_keys_cannot_leave_the_cache(tmp_path):
    with pytest.raises(ValueError, match="relative path"):
        InputCache(tmp_path / "cache").path("../etc/passwd")
