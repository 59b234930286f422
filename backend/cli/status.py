"""``podium status``: which database, data root and broker this command talks to, and the API."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import typer
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from backend.cli.admin import alembic_config
from backend.cli.app import app
from backend.cli.instance import INSTANCE_FILE, instance_of
from backend.config import Settings, get_settings
from backend.db import make_engine, make_session_factory

# alembic.script, httpx and the readiness checks (redis) are imported by the command itself:
# every `podium` invocation imports this module.


def _hide_password(url: str) -> str:
    """``url`` with its password replaced by ``***`` (database and Redis URLs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not an SQLAlchemy URL (a broker's)
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))


def _missing_sqlite_file(url: str) -> Path | None:
    """The SQLite file ``url`` names if it does not exist (connecting would create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def _schema(settings: Settings) -> str:
    """The database's Alembic revision against this checkout's head."""
    from alembic.script import ScriptDirectory  # noqa: PLC0415 - see the imports

    head = ScriptDirectory.from_config(alembic_config(settings.database_url)).get_current_head()
    engine = make_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return "empty: run `podium db upgrade`"
            current = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    finally:
        engine.dispose()
    if current == head:
        return f"schema at head {head}"
    return f"schema at {current}, head is {head}: run `podium db upgrade`"


def _api(url: str) -> str:
    """Whether the API at ``url`` answers ``/readyz``, in words."""
    import httpx  # noqa: PLC0415 - see the imports

    from backend.ops.readiness import TIMEOUT_S  # noqa: PLC0415

    try:
        response = httpx.get(f"{url.rstrip('/')}/readyz", timeout=TIMEOUT_S)
    except httpx.HTTPError as exc:
        return f"{url} does not answer ({type(exc).__name__})"
    if response.status_code == 200:
        return f"{url} answers: ready"
    try:
        reason = str(response.json().get("message", response.status_code))
    except ValueError:
        reason = f"HTTP {response.status_code}"
    return f"{url} answers: {reason}"


@app.command("status")
def status() -> None:
    """Say which database, data root and broker `podium` uses, and whether the API answers.

    Without PODIUM_DATABASE_URL, `podium` adopts the settings of a demo running on this
    machine (its data root's instance.json: ./.podium or $PODIUM_DATA_ROOT).
    """
    from backend.ops.readiness import check_broker, check_database  # noqa: PLC0415

    settings = get_settings()
    instance = instance_of(Path(settings.data_root), settings.database_url)
    missing = _missing_sqlite_file(settings.database_url)
    if missing is None:
        engine = make_engine(settings.database_url)
        try:
            database = check_database(make_session_factory(engine))
        finally:
            engine.dispose()
        ok = database.ok
        detail = _schema(settings) if ok else f"cannot connect: {database.detail}"
    else:
        ok, detail = False, f"no database file at {missing}: run `podium db upgrade`"
    source = (
        f"{settings.data_root / INSTANCE_FILE} ({instance.kind}; PODIUM_* variables override it)"
        if instance
        else "the environment (PODIUM_* variables) and the defaults"
    )
    lines = [
        ("settings", f"from {source}"),
        ("database", f"{_hide_password(settings.database_url)} ({detail})"),
        ("data root", str(settings.data_root)),
    ]
    if settings.job_backend == "celery":
        broker = check_broker(settings)
        lines.append(("broker", f"{_hide_password(settings.broker_url)} ({broker.detail})"))
    else:
        owner = f"the {instance.kind}'s process" if instance else "the API's process"
        lines.append(("broker", f"none: jobs run in {owner} (PODIUM_JOB_BACKEND=local)"))
    api_url = instance.api_url if instance else settings.public_url
    lines.append(
        ("API", _api(api_url) if api_url else "unknown: set PODIUM_PUBLIC_URL to check it")
    )
    width = max(len(name) for name, _ in lines)
    for name, value in lines:
        typer.echo(f"{name:<{width}}  {value}")
    if not ok:
        raise typer.Exit(code=1)
