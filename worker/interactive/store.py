"""Keeping an interactive run's predictions for re-scoring, and getting them back.

The files go flat under ``predictions/<submission>/`` (``<case>_<k><ext>``
names never collide across cases: the click count is the last ``_`` group),
with a manifest ``interactive.json`` saying which file each click count of
each case used (a closed loop's carried-forward prediction counts for several)
and why a count had none: re-scoring scores exactly what the first scoring did.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.storage import Storage, StorageError
from scoring.interactive.score import ClickPredictions
from worker.pipeline import prediction_key
from worker.runner.base import InfrastructureError

MANIFEST = "interactive.json"


@dataclass(frozen=True, slots=True)
class StoredRun:
    """A stored interactive run: its per-click files and the uploaded click set it used."""

    predictions: dict[str, ClickPredictions]
    click_set_id: int | None


def store_interactive_predictions(
    storage: Storage,
    *,
    submission_id: int,
    predictions: Mapping[str, ClickPredictions],
    click_set_id: int | None = None,
) -> None:
    """Put every prediction file once, and the manifest."""
    cases: dict[str, Any] = {}
    manifest = {"click_set_id": click_set_id, "cases": cases}
    stored: set[Path] = set()
    try:
        for case, found in sorted(predictions.items()):
            for path in found.paths:
                if path is not None and path not in stored and path.is_file():
                    storage.put(path, prediction_key(submission_id, path.name))
                    stored.add(path)
            cases[case] = {
                "files": [None if p is None else p.name for p in found.paths],
                "invalid": {str(k): v for k, v in sorted(found.invalid.items())},
                "warnings": list(found.warnings),
            }
        with tempfile.TemporaryDirectory(prefix="podium-manifest-") as tmp:
            local = Path(tmp) / MANIFEST
            local.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
            storage.put(local, prediction_key(submission_id, MANIFEST))
    except StorageError as exc:
        raise InfrastructureError(f"cannot store the predictions: {exc}") from exc


def fetch_interactive_predictions(
    storage: Storage,
    *,
    submission_id: int,
    case_keys: Sequence[str],
    clicks: int,
    destination: Path,
) -> StoredRun:
    """The stored predictions as the scorer takes them (a case the manifest lacks has none)."""
    destination.mkdir(parents=True, exist_ok=True)
    manifest_file = destination / MANIFEST
    try:
        storage.fetch(prediction_key(submission_id, MANIFEST), manifest_file)
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
    except StorageError as exc:
        raise InfrastructureError(f"submission {submission_id}: {exc}") from exc
    found: dict[str, ClickPredictions] = {}
    for case in case_keys:
        entry = manifest["cases"].get(case, {"files": [], "invalid": {}, "warnings": []})
        names: list[str | None] = list(entry["files"])[: clicks + 1]
        names += [None] * (clicks + 1 - len(names))
        paths: list[Path | None] = []
        for name in names:
            if name is None:
                paths.append(None)
                continue
            local = destination / name
            if not local.exists():
                try:
                    storage.fetch(prediction_key(submission_id, name), local)
                except StorageError as exc:
                    raise InfrastructureError(f"submission {submission_id}: {exc}") from exc
            paths.append(local)
        found[case] = ClickPredictions(
            paths=paths,
            invalid={int(k): v for k, v in entry["invalid"].items() if int(k) <= clicks},
            warnings=list(entry["warnings"]),
        )
    return StoredRun(predictions=found, click_set_id=manifest.get("click_set_id"))
