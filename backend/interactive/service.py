"""Rules for interactive phases: the organisers' click files, and who reads which results.

Flushes only; the caller commits. Click files land in a new folder per version
(never over an old one), registered for deletion if the transaction rolls back.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from backend.audit import repository as audit
from backend.auth.models import User
from backend.challenges import repository as challenges
from backend.challenges.archives import archive_files, read_member
from backend.challenges.models import Phase
from backend.errors import ConflictError, DomainError, NotFoundError
from backend.interactive import repository
from backend.interactive.models import ClickSet
from backend.interactive.spec import Interaction, interaction_of
from backend.storage import delete_on_rollback, move_into_place, remove_path
from scoring.interactive.clickfile import (
    CLICK_FILE_SUFFIX,
    MAX_CLICK_FILE_BYTES,
    ClickFileError,
    validate_clicks,
)

#: Problems quoted in one refusal; the rest are counted.
_SHOWN = 20


def interactive_phase(session: Session, phase_id: int) -> tuple[Phase, Interaction]:
    """The phase and its interactive settings.

    Raises
    ------
    DomainError
        404 for no such phase, 409 for a phase that is not interactive.
    """
    phase = challenges.get_phase(session, phase_id)
    if phase is None:
        raise NotFoundError("phase", phase_id)
    interaction = interaction_of(phase.interaction)
    if interaction is None:
        raise ConflictError(
            f"phase {phase.slug} is not interactive (its challenge file has no interaction: block)"
        )
    return phase, interaction


@dataclass(frozen=True, slots=True)
class _Parsed:
    files: dict[str, bytes]
    warnings: list[str]


def _parse_click_files(archive: Path, *, count: int, cases: set[str], hidden: set[str]) -> _Parsed:
    """Every ``<case>_clicks.json`` of the archive, checked; all problems in one refusal."""
    files: dict[str, bytes] = {}
    seen: set[str] = set()
    problems: list[str] = []
    warnings: list[str] = []
    for name, handle in archive_files(archive):
        base = posixpath.basename(name)
        if not base.endswith(CLICK_FILE_SUFFIX):
            problems.append(f"{name}: not a click file (expected <case>{CLICK_FILE_SUFFIX})")
            continue
        case = base[: -len(CLICK_FILE_SUFFIX)]
        if case not in cases:
            problems.append(f"{name}: the phase has no case {case!r}")
            continue
        if case in seen:
            problems.append(f"{name}: a second click file for case {case!r}")
            continue
        seen.add(case)
        data = read_member(handle, name, limit=MAX_CLICK_FILE_BYTES)
        if len(data) > MAX_CLICK_FILE_BYTES:
            problems.append(f"{name}: larger than {MAX_CLICK_FILE_BYTES} bytes")
            continue
        try:
            parsed = json.loads(data.decode("utf-8-sig"))
            checked = validate_clicks(parsed, count=count, name=name)
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            problems.append(f"{name}: not valid JSON text ({exc})")
            continue
        except ClickFileError as exc:
            problems.append(str(exc))
            continue
        warnings.extend(checked.warnings)
        files[case] = checked.clicks.dumps().encode()
    missing = sorted(hidden - seen)
    if missing:
        problems.append(
            f"no click file for case(s) {', '.join(missing[:10])}"
            + (f" and {len(missing) - 10} more" if len(missing) > 10 else "")
            + ": every hidden case of the phase needs one"
        )
    if problems:
        shown = problems[:_SHOWN] + (
            [f"... {len(problems) - _SHOWN} more"] if len(problems) > _SHOWN else []
        )
        raise DomainError("click files refused: " + "; ".join(shown), 422)
    return _Parsed(files=files, warnings=warnings)


def _content_sha256(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for case in sorted(files):
        digest.update(f"{case}\t{hashlib.sha256(files[case]).hexdigest()}\n".encode())
    return digest.hexdigest()


def store_click_set(
    session: Session, *, phase_id: int, archive: Path, data_root: Path, actor: User | None
) -> tuple[ClickSet, bool, list[str]]:
    """Store an archive of ``<case>_clicks.json`` files as the phase's next, active click set.

    Every hidden case needs one file (sample cases may have one); each file is
    checked as ``scoring.interactive.clickfile`` reads it (structure, whole
    numbers, at most the phase's number of clicks per list) and stored as it
    reads back (``"tumor"`` written as ``"lesion"``). Identical content to an
    earlier version reactivates that version.

    Returns
    -------
    tuple
        The click set, whether it is new, and the warnings found.

    Raises
    ------
    DomainError
        404/409 for no such phase or one that takes no click files (not
        interactive, or a closed loop); 422 listing every problem of the files.
    """
    phase, interaction = interactive_phase(session, phase_id)
    if interaction.closed_loop:
        raise ConflictError(
            f"phase {phase.slug} is a closed loop: its clicks are simulated from each "
            "prediction's errors, so it takes no click files"
        )
    all_cases = challenges.list_cases(session, phase_id=phase.id)
    parsed = _parse_click_files(
        archive,
        count=interaction.clicks,
        cases={c.case_key for c in all_cases},
        hidden={c.case_key for c in all_cases if not c.is_sample},
    )
    sha = _content_sha256(parsed.files)
    for existing in repository.click_sets_of(session, phase_id=phase.id):
        if existing.sha256 == sha:
            if not existing.active:
                _activate(session, existing, actor=actor)
            return existing, False, parsed.warnings
    context = challenges.phase_context(session, phase.id)
    assert context is not None
    _, task, challenge = context
    version = repository.next_click_set_version(session, phase_id=phase.id)
    folder = Path("challenges") / challenge.slug / task.slug / phase.slug
    relative = folder / "clicks" / f"v{version}"
    target = data_root / relative
    if target.exists():
        raise ConflictError(f"click folder {relative} exists already; refusing to overwrite it")
    staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    staging.mkdir(parents=True)
    try:
        for case, data in parsed.files.items():
            (staging / f"{case}{CLICK_FILE_SUFFIX}").write_bytes(data)
        move_into_place(staging, target)
    except BaseException:
        remove_path(staging)
        raise
    delete_on_rollback(session, target)
    click_set = ClickSet(
        phase_id=phase.id,
        version=version,
        sha256=sha,
        active=False,
        storage_path=relative.as_posix(),
        file_count=len(parsed.files),
        size_bytes=sum(len(d) for d in parsed.files.values()),
        created_by_id=actor.id if actor else None,
    )
    session.add(click_set)
    session.flush()
    _activate(session, click_set, actor=actor)
    return click_set, True, parsed.warnings


def _activate(session: Session, click_set: ClickSet, *, actor: User | None) -> None:
    active = repository.active_click_set(session, phase_id=click_set.phase_id)
    repository.deactivate_click_sets(session, phase_id=click_set.phase_id)
    session.refresh(click_set)
    click_set.active = True
    session.flush()
    audit.record(
        session,
        actor_id=actor.id if actor else None,
        action="click_set.activate",
        target_type="click_set",
        target_id=click_set.id,
        before=None if active is None else {"active_version": active.version},
        after={
            "active_version": click_set.version,
            "phase_id": click_set.phase_id,
            "sha256": click_set.sha256,
        },
    )
