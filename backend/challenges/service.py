"""Rules for challenges: apply a YAML definition, import test inputs and label sets.

Flushes only; the caller commits. Files are written to new paths (never over an
old one) and registered for deletion if the transaction rolls back.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from backend.audit import repository as audit
from backend.auth.models import User
from backend.challenges import repository
from backend.challenges.archives import CaseFile, content_sha256, unpack_case_files
from backend.challenges.contract import stored_block
from backend.challenges.models import Case, Centre, Challenge, LabelSet, Phase, Task
from backend.challenges.spec import ChallengeSpec, PhaseSpec
from backend.errors import ConflictError, DomainError, NotFoundError
from backend.interactive.spec import stored_interaction
from backend.leaderboard.relabel import rescore_on_activation
from backend.storage import Storage, StorageError, remove_on_rollback

_PHASE_FIELDS = (
    "title",
    "kind",
    "opens_at",
    "closes_at",
    "submission_limit",
    "time_limit_s",
    "memory_limit_mb",
    "gpu",
    "queue",
    "leaderboard_visibility",
    "ranking_selection",
    "container",
    "ranking",
    "writeup",
    "interaction",
)


def _assign(obj: object, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    return changed


def snapshot(session: Session, challenge: Challenge) -> dict[str, Any]:
    """The stored challenge in the YAML file's shape (for audit before/after)."""
    centres = {c.id: c.code for c in repository.centres_of(session, challenge.id)}

    def case(c: Case) -> dict[str, Any]:
        return {"key": c.case_key, "centre": centres.get(c.centre_id or -1)}

    tasks = []
    for task in repository.tasks_of(session, challenge.id):
        phases = []
        for phase in repository.phases_of(session, task.id):
            cases = repository.list_cases(session, phase_id=phase.id)
            phases.append(
                {
                    "slug": phase.slug,
                    **{f: _plain(getattr(phase, f)) for f in _PHASE_FIELDS},
                    "cases": [case(c) for c in cases if not c.is_sample],
                    "sample_cases": [case(c) for c in cases if c.is_sample],
                }
            )
        tasks.append(
            {
                "slug": task.slug,
                "title": task.title,
                "input_phase": task.input_phase,
                "paradigms": task.paradigms,
                "metric_sets": task.metric_sets,
                "phases": phases,
            }
        )
    return {
        "slug": challenge.slug,
        "title": challenge.title,
        "description": challenge.description,
        "requires_team_approval": challenge.requires_team_approval,
        "centres": [
            {"code": c.code, "name": c.name} for c in repository.centres_of(session, challenge.id)
        ],
        "tasks": tasks,
    }


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else getattr(value, "value", value)


def _apply_cases(
    session: Session, phase: Phase, spec: PhaseSpec, centre_ids: dict[str, int]
) -> None:
    existing = {c.case_key: c for c in repository.list_cases(session, phase_id=phase.id)}
    wanted = [(c, False) for c in spec.cases] + [(c, True) for c in spec.sample_cases]
    for case_spec, is_sample in wanted:
        centre_id = centre_ids[case_spec.centre] if case_spec.centre else None
        case = existing.pop(case_spec.key, None)
        if case is None:
            session.add(
                Case(
                    phase_id=phase.id,
                    case_key=case_spec.key,
                    centre_id=centre_id,
                    is_sample=is_sample,
                )
            )
        else:
            _assign(case, {"centre_id": centre_id, "is_sample": is_sample})
    for case in existing.values():
        if repository.case_is_scored(session, case.id):
            raise ConflictError(
                f"case {case.case_key} of phase {phase.slug} has scores and cannot be removed; "
                "keep it in the file"
            )
        session.delete(case)
    session.flush()


def apply_spec(session: Session, *, spec: ChallengeSpec, actor: User | None) -> Challenge:
    """Create or update a challenge to match ``spec`` (idempotent; audited when it changes).

    Tasks, phases, centres and cases are matched by slug, code and key. Cases
    missing from the file are removed unless they were scored; tasks, phases
    and centres missing from the file are kept (removing them loses history).
    """
    challenge = repository.get_challenge_by_slug(session, spec.slug)
    before = None if challenge is None else snapshot(session, challenge)
    if challenge is None:
        challenge = Challenge(slug=spec.slug, title=spec.title)
        session.add(challenge)
    _assign(
        challenge,
        {
            "title": spec.title,
            "description": spec.description,
            "requires_team_approval": spec.requires_team_approval,
        },
    )
    session.flush()
    centres = {c.code: c for c in repository.centres_of(session, challenge.id)}
    for centre_spec in spec.centres:
        centre = centres.get(centre_spec.code)
        if centre is None:
            centre = Centre(challenge_id=challenge.id, code=centre_spec.code, name=centre_spec.name)
            session.add(centre)
            centres[centre.code] = centre
        else:
            _assign(centre, {"name": centre_spec.name})
    session.flush()
    centre_ids = {code: c.id for code, c in centres.items()}
    tasks = {t.slug: t for t in repository.tasks_of(session, challenge.id)}
    for task_spec in spec.tasks:
        task = tasks.get(task_spec.slug)
        values = {
            "title": task_spec.title,
            "input_phase": task_spec.input_phase,
            "paradigms": list(task_spec.paradigms),
            "metric_sets": dict(task_spec.metric_sets),
        }
        if task is None:
            task = Task(challenge_id=challenge.id, slug=task_spec.slug, **values)
            session.add(task)
        else:
            _assign(task, values)
        session.flush()
        phases = {p.slug: p for p in repository.phases_of(session, task.id)}
        for phase_spec in task_spec.phases:
            phase_values = {f: getattr(phase_spec, f) for f in _PHASE_FIELDS}
            phase_values["container"] = stored_block(phase_spec.container)
            phase_values.update(phase_spec.stored_settings())
            phase_values["interaction"] = stored_interaction(
                phase_spec.interaction, paradigms=task_spec.paradigms
            )
            phase = phases.get(phase_spec.slug)
            if phase is None:
                phase = Phase(task_id=task.id, slug=phase_spec.slug, **phase_values)
                session.add(phase)
            else:
                _assign(phase, phase_values)
            session.flush()
            _apply_cases(session, phase, phase_spec, centre_ids)
    after = snapshot(session, challenge)
    if after != before:
        audit.record(
            session,
            actor_id=actor.id if actor else None,
            action="challenge.apply",
            target_type="challenge",
            target_id=challenge.slug,
            before=before,
            after=after,
        )
    return challenge


def _phase_dir(challenge: Challenge, task: Task, phase: Phase) -> Path:
    return Path("challenges") / challenge.slug / task.slug / phase.slug


def store_phase_inputs(
    session: Session,
    *,
    phase_id: int,
    files: dict[str, CaseFile],
    storage: Storage,
    actor: User | None,
    require_all: bool = True,
) -> list[Case]:
    """Give each case of a phase its input file (moved from ``files`` into ``storage``), audited.

    Every case needs exactly one file; a file for no case is refused. Each file
    lands at a new key named by its hash, so an earlier input is never overwritten;
    what this call stored is removed again if the transaction rolls back.
    """
    context = repository.phase_context(session, phase_id)
    if context is None:
        raise NotFoundError("phase", phase_id)
    phase, task, challenge = context
    cases = {c.case_key: c for c in repository.list_cases(session, phase_id=phase.id)}
    unknown = sorted(set(files) - set(cases))
    if unknown:
        raise DomainError(
            f"files for cases that phase {phase.slug} does not have: {', '.join(unknown[:10])}; "
            "add them to the challenge file first",
            422,
        )
    missing = sorted(set(cases) - set(files))
    if require_all and missing:
        raise DomainError(
            f"no file for cases {', '.join(missing[:10])} of phase {phase.slug}: every case "
            "needs exactly one input file",
            422,
        )
    changed = []
    folder = _phase_dir(challenge, task, phase) / "inputs"
    for key, case_file in sorted(files.items()):
        case = cases[key]
        if case.input_sha256 == case_file.sha256:
            continue
        relative = (folder / f"{key}.{case_file.sha256[:16]}{case_file.suffix}").as_posix()
        try:
            if not storage.exists(relative):
                storage.move_in(case_file.path, relative)
                remove_on_rollback(session, storage, relative)
        except StorageError as exc:
            raise DomainError(f"cannot store the input of case {key}: {exc}", 503) from exc
        before = {"input_paths": case.input_paths, "input_sha256": case.input_sha256}
        case.input_paths = [relative]
        case.input_sha256 = case_file.sha256
        changed.append(case)
        audit.record(
            session,
            actor_id=actor.id if actor else None,
            action="case.inputs",
            target_type="case",
            target_id=case.id,
            before=before,
            after={"input_paths": case.input_paths, "input_sha256": case.input_sha256},
        )
    session.flush()
    return changed


def store_label_set(
    session: Session,
    *,
    task_id: int,
    paradigm: str,
    files: dict[str, CaseFile],
    storage: Storage,
    actor: User | None,
    rescore_queue: str | None = None,
) -> tuple[LabelSet, bool]:
    """Store ``files`` as the next, active label-set version of a task's paradigm.

    Returns the label set and whether it is new: identical content to an
    existing version returns that version (and activates it) instead.
    Activating a version re-scores the task's phases on ``rescore_queue``
    (``backend.leaderboard.relabel``).
    """
    task = repository.get_task(session, task_id)
    if task is None:
        raise NotFoundError("task", task_id)
    if paradigm not in task.paradigms:
        raise DomainError(
            f"task {task.slug} has no paradigm {paradigm!r} (it has {', '.join(task.paradigms)})",
            422,
        )
    hidden: set[str] = set()
    known: set[str] = set()
    for phase in repository.phases_of(session, task.id):
        for case in repository.list_cases(session, phase_id=phase.id):
            known.add(case.case_key)
            if not case.is_sample:
                hidden.add(case.case_key)
    unknown = sorted(set(files) - known)
    if unknown:
        raise DomainError(
            f"labels for cases task {task.slug} does not have: {', '.join(unknown[:10])}", 422
        )
    missing = sorted(hidden - set(files))
    if missing:
        raise DomainError(
            f"no label for cases {', '.join(missing[:10])}: every hidden test case needs "
            "exactly one label file",
            422,
        )
    sha = content_sha256(files)
    for existing in repository.label_sets_of(session, task_id=task.id, paradigm=paradigm):
        if existing.sha256 == sha:
            if not existing.active:
                _activate(session, existing, actor=actor, rescore_queue=rescore_queue)
            return existing, False
    challenge = session.get(Challenge, task.challenge_id)
    assert challenge is not None
    version = repository.next_label_set_version(session, task_id=task.id, paradigm=paradigm)
    relative = f"challenges/{challenge.slug}/{task.slug}/labels/{paradigm}/v{version}"
    if storage.list(relative):
        raise ConflictError(f"label folder {relative} exists already; refusing to overwrite it")
    try:
        storage.move_in_folder(
            {f"{key}{case_file.suffix}": case_file.path for key, case_file in files.items()},
            relative,
        )
    except StorageError as exc:
        raise DomainError(f"cannot store label set {relative}: {exc}", 503) from exc
    remove_on_rollback(session, storage, relative, folder=True)
    label_set = LabelSet(
        task_id=task.id,
        paradigm=paradigm,
        version=version,
        sha256=sha,
        active=False,
        storage_path=relative,
        file_count=len(files),
        size_bytes=sum(f.size for f in files.values()),
        created_by_id=actor.id if actor else None,
    )
    session.add(label_set)
    session.flush()
    _activate(session, label_set, actor=actor, rescore_queue=rescore_queue)
    return label_set, True


def _activate(
    session: Session, label_set: LabelSet, *, actor: User | None, rescore_queue: str | None
) -> None:
    active = repository.active_label_sets(session, label_set.task_id).get(label_set.paradigm)
    repository.deactivate_label_sets(
        session, task_id=label_set.task_id, paradigm=label_set.paradigm
    )
    session.refresh(label_set)
    label_set.active = True
    session.flush()
    audit.record(
        session,
        actor_id=actor.id if actor else None,
        action="label_set.activate",
        target_type="label_set",
        target_id=label_set.id,
        before=None if active is None else {"active_version": active.version},
        after={
            "active_version": label_set.version,
            "paradigm": label_set.paradigm,
            "sha256": label_set.sha256,
        },
    )
    rescore_on_activation(session, task_id=label_set.task_id, actor=actor, queue=rescore_queue)


def unpack_upload(
    archive: Path, *, staging_dir: Path, max_bytes: int | None = None
) -> tuple[Path, dict[str, CaseFile]]:
    """Unpack an uploaded archive into a fresh staging folder (removed on refusal)."""
    folder = staging_dir / f"unpacked-{uuid.uuid4().hex}"
    return folder, unpack_case_files(archive, folder, max_bytes=max_bytes)
