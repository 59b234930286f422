"""``podium``: administer the service from a shell (migrations, challenges, phases, users)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from alembic import command
from alembic.config import Config

from backend.auth import repository as users
from backend.auth import service as auth
from backend.auth.models import User
from backend.challenges.local_import import import_local_files
from backend.challenges.service import apply_spec
from backend.challenges.spec import parse_challenge_yaml
from backend.config import get_settings
from backend.db import make_engine, make_session_factory
from backend.enums import Role
from backend.errors import DomainError
from backend.jobs import CeleryJobQueue, Job, JobQueue, bind_queue
from backend.leaderboard import history
from backend.leaderboard.context import is_organiser

app = typer.Typer(help="Podium administration.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
challenge_app = typer.Typer(help="Challenges.", no_args_is_help=True)
user_app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
phase_app = typer.Typer(help="Phases.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(challenge_app, name="challenge")
app.add_typer(phase_app, name="phase")
app.add_typer(user_app, name="user")

_ROOT = Path(__file__).resolve().parent.parent


def _fail(message: str) -> typer.Exit:
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code=1)


def alembic_config(database_url: str) -> Config:
    """Alembic's config for this checkout, pointed at ``database_url``."""
    config = Config(str(_ROOT / "alembic.ini"))
    config.attributes["database_url"] = database_url
    return config


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations (``alembic upgrade head``) to PODIUM_DATABASE_URL."""
    command.upgrade(alembic_config(get_settings().database_url), revision)


@challenge_app.command("apply")
def challenge_apply(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    actor_email: Annotated[
        str | None, typer.Option("--as", help="Organiser recorded in the audit trail.")
    ] = None,
    skip_files: Annotated[
        bool, typer.Option("--skip-files", help="Only the definition; no inputs or labels.")
    ] = False,
) -> None:
    """Create or update a challenge from FILE, importing the inputs and labels it names."""
    settings = get_settings()
    factory = make_session_factory(make_engine(settings.database_url))
    try:
        with factory() as session, session.begin():
            actor: User | None = None
            if actor_email:
                actor = users.get_user_by_email(session, actor_email)
                if actor is None:
                    raise DomainError(f"no user {actor_email}", 404)
            spec = parse_challenge_yaml(file.read_bytes())
            challenge = apply_spec(session, spec=spec, actor=actor)
            if not skip_files:
                report = import_local_files(
                    session,
                    challenge=challenge,
                    spec=spec,
                    base_dir=file.resolve().parent,
                    data_root=settings.data_root,
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
        raise _fail(exc.message) from exc


class _SentJobs:
    """Forwards jobs and remembers which went through (a failed send is only logged)."""

    def __init__(self, inner: JobQueue) -> None:
        self._inner = inner
        self.sent: list[Job] = []

    def send(self, job: Job) -> None:
        self._inner.send(job)
        self.sent.append(job)


@phase_app.command("rescore")
def phase_rescore(
    phase_id: int,
    actor_email: Annotated[
        str | None, typer.Option("--as", help="Organiser recorded in the audit trail.")
    ] = None,
) -> None:
    """Re-score PHASE_ID's succeeded submissions against the active label sets.

    The worker scores their stored predictions; no container runs again.
    """
    settings = get_settings()
    if settings.job_backend != "celery":
        raise _fail(
            "PODIUM_JOB_BACKEND is local: jobs run inside the API process, so ask it instead: "
            f"POST /api/v1/phases/{phase_id}/rescore with an organiser token"
        )
    queue = _SentJobs(CeleryJobQueue(settings.broker_url))
    factory = make_session_factory(make_engine(settings.database_url))
    try:
        with factory() as session, session.begin():
            bind_queue(session, queue)
            actor: User | None = None
            if actor_email:
                actor = users.get_user_by_email(session, actor_email)
                if actor is None or not is_organiser(actor):
                    raise DomainError(f"no organiser {actor_email}", 404)
            result = history.rescore_phase(
                session, phase_id=phase_id, actor=actor, queue=settings.evaluation_queue
            )
    except DomainError as exc:
        raise _fail(exc.message) from exc
    if not queue.sent:
        raise _fail(
            f"the re-scoring is recorded but the broker at {settings.broker_url} did not take "
            "the job: run the command again once it answers"
        )
    typer.echo(result.message)


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()],
    role: Annotated[Role, typer.Option()] = Role.PARTICIPANT,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)
    ] = "",
) -> None:
    """Create an account (e.g. the first admin)."""
    factory = make_session_factory(make_engine(get_settings().database_url))
    try:
        with factory() as session, session.begin():
            user = auth.register(session, email=email, password=password, display_name=name)
            user.role = role
            typer.echo(f"user {user.id} {email} ({role.value}) created")
    except DomainError as exc:
        raise _fail(exc.message) from exc


@user_app.command("token")
def user_token(
    email: Annotated[str, typer.Option()],
    name: Annotated[str, typer.Option()] = "cli",
) -> None:
    """Issue an API token for a user and print it (shown once)."""
    settings = get_settings()
    factory = make_session_factory(make_engine(settings.database_url))
    with factory() as session, session.begin():
        user = users.get_user_by_email(session, email)
        if user is None:
            raise _fail(f"no user {email}")
        _, token = auth.issue_token(
            session, user=user, name=name, secret_key=settings.secret_key, ttl_days=None
        )
    typer.echo(token)


@app.command("serve")
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the API with uvicorn (migrate first with `podium db upgrade`)."""
    import uvicorn  # noqa: PLC0415 - only this command needs the server

    uvicorn.run("backend.main:create_app", factory=True, host=host, port=port)


def main() -> None:
    """Console-script entry point."""
    app()
