"""``podium challenge apply``, ``podium phase upload-inputs``, ``podium task upload-labels``.

The uploads do what ``POST /phases/{id}/inputs`` and ``POST /tasks/{id}/label-sets/{p}``
do, with a local archive: it is copied into the staging folder (sha256 on the way,
with a progress bar), unpacked with the same checks, and handed to the same
service in one transaction. Nothing is held open while the bytes move.
"""

from __future__ import annotations

import hashlib
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from backend.challenges import repository as challenges
from backend.challenges import service
from backend.challenges.archives import CaseFile
from backend.challenges.local_import import import_local_files
from backend.challenges.spec import parse_challenge_yaml
from backend.cli.app import challenge_app, phase_app, task_app
from backend.cli.common import ActorOption, fail, optional_organiser, transaction
from backend.config import Settings, get_settings
from backend.errors import DomainError, NotFoundError
from backend.jobs import CeleryJobQueue, bind_queue
from backend.storage import human_bytes, make_storage, remove_path

_CHUNK = 1024 * 1024

ArchiveArgument = Annotated[
    Path,
    typer.Argument(
        exists=True,
        dir_okay=False,
        readable=True,
        help="A .tar.gz or .zip with one <case key>.nii.gz (.nii, .mha) per case.",
    ),
]


@challenge_app.command("apply")
def challenge_apply(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    actor_email: ActorOption = None,
    skip_files: Annotated[
        bool, typer.Option("--skip-files", help="Only the definition; no inputs or labels.")
    ] = False,
) -> None:
    """Create or update a challenge from FILE, importing the inputs and labels it names."""
    settings = get_settings()
    try:
        with transaction() as session:
            actor = optional_organiser(session, actor_email)
            spec = parse_challenge_yaml(file.read_bytes())
            challenge = service.apply_spec(session, spec=spec, actor=actor)
            if not skip_files:
                report = import_local_files(
                    session,
                    challenge=challenge,
                    spec=spec,
                    base_dir=file.resolve().parent,
                    storage=make_storage(settings),
                    staging_dir=settings.staging_dir,
                    actor=actor,
                )
                typer.echo(
                    f"inputs updated: {len(report.inputs_updated)}; label sets created: "
                    f"{', '.join(report.label_sets_created) or 'none'}; unchanged: "
                    f"{', '.join(report.label_sets_unchanged) or 'none'}"
                )
            typer.echo(f"challenge {challenge.slug} applied (id {challenge.id})")
    except DomainError as exc:
        raise fail(exc.message) from exc


@dataclass(frozen=True, slots=True)
class _Unpacked:
    """An archive copied to staging and unpacked: its sha256 and the case files."""

    sha256: str
    folder: Path
    files: dict[str, CaseFile]


def _copy_with_progress(archive: Path, target: Path) -> str:
    digest = hashlib.sha256()
    size = archive.stat().st_size
    with (
        archive.open("rb") as source,
        target.open("xb") as out,
        typer.progressbar(
            length=size, label=f"{archive.name} ({human_bytes(size)})", file=sys.stderr
        ) as bar,
    ):
        while chunk := source.read(_CHUNK):
            digest.update(chunk)
            out.write(chunk)
            bar.update(len(chunk))
    return digest.hexdigest()


@contextmanager
def _unpacked(archive: Path, settings: Settings) -> Iterator[_Unpacked]:
    """The archive's case files in a staging folder, removed afterwards whatever happens."""
    size = archive.stat().st_size
    if size == 0:
        raise DomainError(f"{archive} is empty", 400)
    if size > settings.max_upload_bytes:
        raise DomainError(
            f"{archive} is {human_bytes(size)}, more than the upload limit of "
            f"{human_bytes(settings.max_upload_bytes)}; split it or raise "
            "PODIUM_MAX_UPLOAD_BYTES",
            413,
        )
    settings.staging_dir.mkdir(parents=True, exist_ok=True)
    staged = settings.staging_dir / f"{uuid.uuid4().hex}.archive"
    try:
        sha256 = _copy_with_progress(archive, staged)
        folder, files = service.unpack_upload(
            staged, staging_dir=settings.staging_dir, max_bytes=settings.max_upload_bytes
        )
    finally:
        staged.unlink(missing_ok=True)
    try:
        yield _Unpacked(sha256=sha256, folder=folder, files=files)
    finally:
        remove_path(folder)


@phase_app.command("upload-inputs")
def phase_upload_inputs(
    phase_id: int, archive: ArchiveArgument, actor_email: ActorOption = None
) -> None:
    """Store PHASE_ID's test inputs from ARCHIVE, one file per case (hidden and sample).

    The same as POST /api/v1/phases/{id}/inputs; unchanged files are skipped; audited.
    """
    settings = get_settings()
    try:
        # Refuse an unknown phase or actor before copying a large archive.
        with transaction() as session:
            optional_organiser(session, actor_email)
            if challenges.get_phase(session, phase_id) is None:
                raise NotFoundError("phase", phase_id)
        with _unpacked(archive, settings) as unpacked, transaction() as session:
            changed = service.store_phase_inputs(
                session,
                phase_id=phase_id,
                files=unpacked.files,
                storage=make_storage(settings),
                actor=optional_organiser(session, actor_email),
            )
            keys = [c.case_key for c in changed]
    except DomainError as exc:
        raise fail(exc.message) from exc
    typer.echo(f"archive sha256 {unpacked.sha256}")
    typer.echo(
        f"phase {phase_id}: {len(keys)} of {len(unpacked.files)} case input(s) updated"
        + (f": {', '.join(keys)}" if keys else " (all unchanged)")
    )


@task_app.command("upload-labels")
def task_upload_labels(
    task_id: int, paradigm: str, archive: ArchiveArgument, actor_email: ActorOption = None
) -> None:
    """Store ARCHIVE as the next label-set version of TASK_ID's PARADIGM and activate it.

    The same as POST /api/v1/tasks/{id}/label-sets/{paradigm}: never overwrites a
    version; identical content re-activates the existing one; audited.
    """
    settings = get_settings()
    try:
        with transaction() as session:
            optional_organiser(session, actor_email)
            if challenges.get_task(session, task_id) is None:
                raise NotFoundError("task", task_id)
        celery = settings.job_backend == "celery"
        with _unpacked(archive, settings) as unpacked, transaction() as session:
            if celery:
                # Activation re-scores the task's phases; the jobs go to the workers.
                bind_queue(session, CeleryJobQueue(settings.broker_url))
            label_set, created = service.store_label_set(
                session,
                task_id=task_id,
                paradigm=paradigm,
                files=unpacked.files,
                storage=make_storage(settings),
                actor=optional_organiser(session, actor_email),
                rescore_queue=settings.evaluation_queue if celery else None,
            )
            version, count = label_set.version, label_set.file_count
    except DomainError as exc:
        raise fail(exc.message) from exc
    what = "created" if created else "unchanged (identical to an existing version), active"
    typer.echo(f"task {task_id} {paradigm} label set v{version} {what}: {count} file(s)")
    if not celery:
        typer.echo(
            "the embedded backend runs jobs inside the API process: re-score the task's phases "
            "with POST /api/v1/phases/{id}/rescore (their boards wait for it)"
        )
