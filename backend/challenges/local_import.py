"""Import the files a challenge YAML names (case inputs, label folders) from local disk.

Used by ``podium challenge apply FILE``; paths are relative to the YAML file.
Unchanged files (same sha256) are skipped, so applying twice changes nothing.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.challenges import repository, service
from backend.challenges.archives import CaseFile, hash_file, split_case_name
from backend.challenges.models import Challenge
from backend.challenges.spec import ChallengeSpec
from backend.errors import DomainError
from backend.storage import Storage, remove_path


@dataclass
class ImportReport:
    """What an apply imported."""

    inputs_updated: list[str] = field(default_factory=list)
    label_sets_created: list[str] = field(default_factory=list)
    label_sets_unchanged: list[str] = field(default_factory=list)


def _resolve(base: Path, relative: str) -> Path:
    path = (base / relative).resolve()
    if not path.is_file() and not path.is_dir():
        raise DomainError(f"{relative!r} (relative to the challenge file) does not exist", 422)
    return path


def _stage_copy(source: Path, key: str, suffix: str, staging: Path) -> CaseFile:
    staging.mkdir(parents=True, exist_ok=True)
    target = staging / f"{key}{suffix}"
    shutil.copyfile(source, target)
    return CaseFile(
        key=key, suffix=suffix, path=target, sha256=hash_file(target), size=target.stat().st_size
    )


def import_local_files(
    session: Session,
    *,
    challenge: Challenge,
    spec: ChallengeSpec,
    base_dir: Path,
    storage: Storage,
    staging_dir: Path,
    actor: User | None,
) -> ImportReport:
    """Copy the inputs and labels named in ``spec`` into ``storage`` and register them."""
    report = ImportReport()
    tasks = {t.slug: t for t in repository.tasks_of(session, challenge.id)}
    for task_spec in spec.tasks:
        task = tasks[task_spec.slug]
        phases = {p.slug: p for p in repository.phases_of(session, task.id)}
        for phase_spec in task_spec.phases:
            phase = phases[phase_spec.slug]
            stored = {c.case_key: c for c in repository.list_cases(session, phase_id=phase.id)}
            staging = staging_dir / f"inputs-{uuid.uuid4().hex}"
            files: dict[str, CaseFile] = {}
            try:
                for case_spec in [*phase_spec.cases, *phase_spec.sample_cases]:
                    if not case_spec.inputs:
                        continue
                    if len(case_spec.inputs) != 1:
                        raise DomainError(
                            f"case {case_spec.key}: exactly one input file per case is supported",
                            422,
                        )
                    source = _resolve(base_dir, case_spec.inputs[0])
                    if stored[case_spec.key].input_sha256 == hash_file(source):
                        continue
                    _, suffix = split_case_name(source.name)
                    files[case_spec.key] = _stage_copy(source, case_spec.key, suffix, staging)
                if files:
                    changed = service.store_phase_inputs(
                        session,
                        phase_id=phase.id,
                        files=files,
                        storage=storage,
                        actor=actor,
                        require_all=False,
                    )
                    report.inputs_updated += [
                        f"{task.slug}/{phase.slug}/{c.case_key}" for c in changed
                    ]
            finally:
                remove_path(staging)
        for paradigm, folder in task_spec.labels.items():
            source_dir = _resolve(base_dir, folder)
            if not source_dir.is_dir():
                raise DomainError(f"labels for {paradigm}: {folder!r} is not a folder", 422)
            staging = staging_dir / f"labels-{uuid.uuid4().hex}"
            try:
                label_files: dict[str, CaseFile] = {}
                for path in sorted(source_dir.iterdir()):
                    if not path.is_file() or path.name.startswith("."):
                        continue
                    key, suffix = split_case_name(path.name)
                    label_files[key] = _stage_copy(path, key, suffix, staging)
                label_set, created = service.store_label_set(
                    session,
                    task_id=task.id,
                    paradigm=paradigm,
                    files=label_files,
                    storage=storage,
                    actor=actor,
                )
                name = f"{task.slug}/{paradigm} v{label_set.version}"
                (report.label_sets_created if created else report.label_sets_unchanged).append(name)
            finally:
                remove_path(staging)
    return report
