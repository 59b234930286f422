"""Prepared labels of one paradigm for the cases of a run (fetched once, cached per version)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from backend.storage import Storage, StorageError
from scoring.labelcase import LabelCase, LabelError
from worker.cases import CaseInput, LabelSource
from worker.labelcache import LabelCache
from worker.pipeline import label_keys
from worker.runner.base import InfrastructureError


def prepared_labels(
    storage: Storage,
    cases: Sequence[CaseInput],
    label: LabelSource,
    *,
    workdir: Path,
    label_cache: LabelCache | None = None,
) -> dict[str, LabelCase]:
    """Each case's label of ``label``'s paradigm, read in ``paper`` mode (lesion = 1).

    Labels are fetched to ``workdir`` (never a folder a container sees), or
    taken prepared from ``label_cache``.

    Raises
    ------
    InfrastructureError
        A label is missing or unreadable (the organisers' to fix).
    """
    available = label_keys(storage, label)
    folder = workdir / "labels" / f"{label.paradigm}-v{label.version}"
    cache = label_cache or LabelCache(None)
    prepared: dict[str, LabelCase] = {}
    for case in cases:
        key = available.get(case.case_key)
        if key is None:
            raise InfrastructureError(
                f"label set {label.paradigm} v{label.version} has no label for case {case.case_key}"
            )
        local = folder / Path(key).name

        def load(key: str = key, local: Path = local, case_key: str = case.case_key) -> LabelCase:
            if not local.exists():
                storage.fetch(key, local)
            return LabelCase.read(local, case_id=case_key, mode="paper")

        try:
            prepared[case.case_key] = cache.get(
                label_set=(label.label_set_id, label.sha256),
                case_key=case.case_key,
                mode="paper",
                load=load,
            )
        except (StorageError, LabelError) as exc:
            raise InfrastructureError(str(exc)) from exc
    return prepared
