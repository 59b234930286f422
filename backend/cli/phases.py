"""``podium phase rescore | publish | export``: the organisers' leaderboard actions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from backend.cli.app import phase_app
from backend.cli.common import (
    ActorOption,
    RequiredActorOption,
    fail,
    optional_organiser,
    organiser,
    transaction,
)
from backend.cli.export import ExportView, write_export
from backend.config import get_settings
from backend.errors import DomainError
from backend.jobs import CeleryJobQueue, Job, JobQueue, bind_queue
from backend.leaderboard import actions


class _SentJobs:
    """Forwards jobs and remembers which went through (a failed send is only logged)."""

    def __init__(self, inner: JobQueue) -> None:
        self._inner = inner
        self.sent: list[Job] = []

    def send(self, job: Job) -> None:
        self._inner.send(job)
        self.sent.append(job)


@phase_app.command("rescore")
def phase_rescore(phase_id: int, actor_email: ActorOption = None) -> None:
    """Re-score PHASE_ID's succeeded submissions against the active label sets.

    The worker scores their stored predictions; no container runs again.
    """
    settings = get_settings()
    if settings.job_backend != "celery":
        raise fail(
            "PODIUM_JOB_BACKEND is local: jobs run inside the API process, so ask it instead: "
            f"POST /api/v1/phases/{phase_id}/rescore with an organiser token"
        )
    queue = _SentJobs(CeleryJobQueue(settings.broker_url))
    try:
        with transaction() as session:
            bind_queue(session, queue)
            actor = optional_organiser(session, actor_email)
            result = actions.rescore_phase(
                session, phase_id=phase_id, actor=actor, queue=settings.evaluation_queue
            )
    except DomainError as exc:
        raise fail(exc.message) from exc
    if not queue.sent:
        raise fail(
            f"the re-scoring is recorded but the broker at {settings.broker_url} did not take "
            "the job: run the command again once it answers"
        )
    typer.echo(result.message)


@phase_app.command("publish")
def phase_publish(phase_id: int, actor_email: RequiredActorOption) -> None:
    """Make a closed phase's leaderboard public (idempotent; audited).

    The same as POST /api/v1/phases/{id}/leaderboard/publish; refused while the
    phase is still open.
    """
    try:
        with transaction() as session:
            result = actions.publish(
                session, phase_id=phase_id, actor=organiser(session, actor_email)
            )
    except DomainError as exc:
        raise fail(exc.message) from exc
    typer.echo(result.message)


@phase_app.command("export")
def phase_export(
    phase_id: int,
    out: Annotated[
        Path,
        typer.Option("--out", file_okay=False, help="Folder for the files (created if missing)."),
    ],
    actor_email: RequiredActorOption,
    view: Annotated[
        ExportView,
        typer.Option(help="public: without organiser-affiliated teams, ranks among the rest."),
    ] = ExportView.ORGANISERS,
) -> None:
    """Write PHASE_ID's leaderboard CSV and every submission's per-case scores (CSV, JSON).

    leaderboard.csv is GET /phases/{id}/leaderboard.csv for the view;
    case-scores.csv/.json hold one row per succeeded submission x case x paradigm
    from its latest evaluation (GET /submissions/{id}/case-scores).
    """
    try:
        with transaction() as session:
            written = write_export(
                session,
                phase_id=phase_id,
                viewer=organiser(session, actor_email),
                view=view,
                out=out,
            )
    except DomainError as exc:
        raise fail(exc.message) from exc
    except OSError as exc:
        raise fail(f"cannot write to {out}: {exc}") from exc
    for line in written:
        typer.echo(line)
