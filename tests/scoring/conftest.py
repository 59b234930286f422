"""Scoring test fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

import scoring.io


@pytest.fixture
def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files whose voxels are read, once per read: streamed into a buffer
    (:func:`scoring.nifti.read_voxels`) or by ``SimpleITK.ReadImage``."""
    calls: list[str] = []
    real_image = scoring.io.SimpleITK.ReadImage
    real_voxels = scoring.io.read_voxels

    def image(path: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(str(path))
        return real_image(path, *args, **kwargs)

    @contextmanager
    def voxels(path: Path, **kwargs: Any) -> Iterator[Any]:
        with real_voxels(path, **kwargs) as found:
            if found is not None:
                calls.append(str(path))
            yield found

    monkeypatch.setattr(scoring.io.SimpleITK, "ReadImage", image)
    monkeypatch.setattr(scoring.io, "read_voxels", voxels)
    return calls
