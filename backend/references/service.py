"""Rules for reference entries: add one (a container or uploaded predictions), list, remove.

A reference entry is scored like a team's submission, through its own
submission row without a team or a quota slot: a container goes through the
worker's evaluation (``evaluate_submission``), uploaded predictions through the
worker's scoring of stored predictions (the same task finds no image to run). Flushes
only; the request commits and the job is sent after that commit. Audited.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.audit import repository as audit
from backend.auth.models import User
from backend.challenges import repository as challenges
from backend.challenges.archives import CaseFile
from backend.challenges.models import Phase
from backend.db import utcnow
from backend.enums import SubmissionStatus
from backend.errors import ConflictError, DomainError, NotFoundError
from backend.jobs import EVALUATE_SUBMISSION, enqueue
from backend.leaderboard import cache
from backend.references import repository
from backend.references.models import ReferenceEntry
from backend.references.schemas import ReferenceIn, ReferenceOut
from backend.storage import StagedUpload, Storage, StorageError, remove_on_rollback
from backend.submissions.image_archive import ImageInfo
from backend.submissions.models import Submission


def _phase(session: Session, phase_id: int, spec: ReferenceIn) -> Phase:
    found = challenges.phase_context(session, phase_id)
    if found is None:
        raise NotFoundError("phase", phase_id)
    if repository.name_taken(session, phase_id=phase_id, name=spec.name):
        raise ConflictError(
            f"phase {found[0].title!r} already has a reference entry named {spec.name!r}: "
            "remove it first or choose another name"
        )
    return found[0]


def _record(
    session: Session,
    *,
    phase: Phase,
    spec: ReferenceIn,
    source: str,
    submission: Submission,
    actor: User,
) -> ReferenceEntry:
    entry = ReferenceEntry(
        phase_id=phase.id,
        submission_id=submission.id,
        name=spec.name,
        kind=spec.kind,
        source=source,
        link=spec.link,
        description=spec.description,
        created_by_id=actor.id,
    )
    session.add(entry)
    session.flush()
    audit.record(
        session,
        actor_id=actor.id,
        action="reference.add",
        target_type="phase",
        target_id=phase.id,
        after={
            "reference_id": entry.id,
            "name": spec.name,
            "kind": spec.kind,
            "source": source,
            "link": spec.link,
            "submission_id": submission.id,
        },
    )
    cache.leaderboard_changed(session, phase_id=phase.id)
    return entry


def add_container(
    session: Session,
    *,
    phase_id: int,
    spec: ReferenceIn,
    staged: StagedUpload,
    image: ImageInfo,
    storage: Storage,
    queue: str,
    actor: User,
) -> ReferenceEntry:
    """A reference entry from a ``docker save`` tarball, evaluated like a team's container."""
    phase = _phase(session, phase_id, spec)
    queue = phase.queue or queue  # the phase's host class runs (and scores) it
    now = utcnow()
    submission = Submission(
        team_id=None,
        phase_id=phase.id,
        submitted_by_id=actor.id,
        slot=None,
        status=SubmissionStatus.QUEUED,
        queued_at=now,
        tarball_sha256=staged.sha256,
        image_digest=image.digest,
        image_tags=image.repo_tags,
        size_bytes=staged.size,
        tarball_path="",
        queue=queue,
        message="queued: reference entry",
    )
    session.add(submission)
    session.flush()
    with staged.path.open("rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    key = (
        f"references/phase-{phase.id}/"
        f"{submission.id}-{staged.sha256[:16]}{'.tar.gz' if gzipped else '.tar'}"
    )
    try:
        storage.move_in(staged.path, key)
    except StorageError as exc:
        raise DomainError(
            f"the upload could not be stored, please send it again: {exc}", 503
        ) from exc
    remove_on_rollback(session, storage, key)
    submission.tarball_path = key
    entry = _record(
        session, phase=phase, spec=spec, source="container", submission=submission, actor=actor
    )
    enqueue(session, task_name=EVALUATE_SUBMISSION, args=[submission.id], queue=queue)
    return entry


def add_predictions(
    session: Session,
    *,
    phase_id: int,
    spec: ReferenceIn,
    files: dict[str, CaseFile],
    archive_sha256: str,
    storage: Storage,
    queue: str,
    actor: User,
) -> ReferenceEntry:
    """A reference entry from uploaded predictions (``<case key>.nii.gz`` per hidden test case).

    A second reader's label set is such an upload (kind ``human``). Cases
    without a file are scored as missing predictions, as a team's would be.
    """
    phase = _phase(session, phase_id, spec)
    queue = phase.queue or queue  # the phase's host class runs (and scores) it
    hidden = {c.case_key for c in challenges.list_cases(session, phase_id=phase.id, sample=False)}
    unknown = sorted(set(files) - hidden)
    if unknown:
        raise DomainError(
            f"predictions for cases that are not hidden test cases of phase {phase.title!r}: "
            f"{', '.join(unknown[:10])}",
            422,
        )
    if not files:
        raise DomainError("the archive holds no prediction file (<case key>.nii.gz)", 422)
    submission = Submission(
        team_id=None,
        phase_id=phase.id,
        submitted_by_id=actor.id,
        slot=None,
        status=SubmissionStatus.QUEUED,
        queued_at=utcnow(),
        tarball_sha256=archive_sha256,
        image_digest="",
        image_tags=[],
        size_bytes=sum(f.size for f in files.values()),
        tarball_path="",
        queue=queue,
        message="queued: reference entry (uploaded predictions)",
    )
    session.add(submission)
    session.flush()
    folder = f"references/phase-{phase.id}/{submission.id}-{archive_sha256[:16]}"
    try:
        storage.move_in_folder(
            {f"{key}{case_file.suffix}": case_file.path for key, case_file in files.items()},
            folder,
        )
    except StorageError as exc:
        raise DomainError(
            f"the upload could not be stored, please send it again: {exc}", 503
        ) from exc
    remove_on_rollback(session, storage, folder, folder=True)
    submission.tarball_path = folder
    entry = _record(
        session, phase=phase, spec=spec, source="predictions", submission=submission, actor=actor
    )
    # The same task as a container: the worker sees there is no image and only scores.
    enqueue(session, task_name=EVALUATE_SUBMISSION, args=[submission.id], queue=queue)
    return entry


def list_references(session: Session, *, phase_id: int) -> list[ReferenceOut]:
    """The phase's reference entries with their scoring state (organisers)."""
    if challenges.get_phase(session, phase_id) is None:
        raise NotFoundError("phase", phase_id)
    return [
        ReferenceOut(
            id=r.id,
            phase_id=phase_id,
            name=r.name,
            kind=r.kind,
            source=r.source,
            link=r.link,
            description=r.description,
            submission_id=r.submission_id,
            status=r.status,
            message=r.message,
            created_at=r.created_at,
            evaluation_id=r.evaluation_id,
        )
        for r in repository.phase_references(session, phase_id=phase_id)
    ]


def remove(session: Session, *, reference_id: int, actor: User) -> str:
    """Delete a reference entry with its submission and scores (audited)."""
    entry = repository.get_reference(session, reference_id)
    if entry is None:
        raise NotFoundError("reference entry", reference_id)
    submission = session.get(Submission, entry.submission_id)
    audit.record(
        session,
        actor_id=actor.id,
        action="reference.remove",
        target_type="phase",
        target_id=entry.phase_id,
        before={"reference_id": entry.id, "name": entry.name, "kind": entry.kind},
    )
    cache.leaderboard_changed(session, phase_id=entry.phase_id)
    name = entry.name
    session.delete(entry)
    if submission is not None:
        session.delete(submission)
    session.flush()
    return name
