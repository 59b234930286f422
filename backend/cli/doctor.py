"""``podium doctor``: list what is misconfigured (:mod:`backend.ops.doctor`)."""

from __future__ import annotations

import typer

from backend.cli.app import app
from backend.config import get_settings
from backend.db import make_engine, make_session_factory
from backend.ops.doctor import Doctor, diagnose


@app.command("doctor")
def doctor() -> None:
    """Check this deployment: secret key, data root, database, broker, storage, every
    live worker (engine, GPU runtime, data root at the same path), queues and GPU phases.

    Prints one line per finding; exits 1 when any check fails. Run it where the
    API runs: `docker compose exec api podium doctor`.
    """
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        findings = diagnose(Doctor(settings=settings, session_factory=make_session_factory(engine)))
    finally:
        engine.dispose()
    for finding in findings:
        typer.echo(finding.line())
    failed = [f for f in findings if f.status == "fail"]
    typer.echo(f"{len(findings)} checks, {len(failed)} failed")
    if failed:
        raise typer.Exit(code=1)
