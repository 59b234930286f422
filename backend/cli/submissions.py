"""``podium submissions list``: a phase's submissions across teams, as a table or JSON."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

import typer

from backend.cli.app import submissions_app
from backend.cli.common import fail, transaction
from backend.enums import SubmissionStatus
from backend.errors import DomainError
from backend.leaderboard.context import load_phase
from backend.submissions import repository as submissions
from backend.teams import repository as teams

#: Table columns: (heading, key in the row dict).
_COLUMNS = (
    ("ID", "id"),
    ("TEAM", "team"),
    ("STATUS", "status"),
    ("FAILURE", "failure_class"),
    ("TRY", "attempt"),
    ("SUBMITTED", "created_at"),
    ("STARTED", "started_at"),
    ("FINISHED", "finished_at"),
    ("RUNTIME S", "runtime_s"),
)


def _when(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key.endswith("_at"):
        return str(value)[:19].replace("T", " ")
    if key == "runtime_s":
        return f"{value:.1f}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    """Rows as aligned text columns (times in UTC to the second; ``-`` where none)."""
    cells = [[_cell(key, row[key]) for _, key in _COLUMNS] for row in rows]
    headings = [heading for heading, _ in _COLUMNS]
    widths = [max(len(c) for c in column) for column in zip(headings, *cells, strict=False)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in [headings, *cells]
    ]
    return "\n".join(lines)


@submissions_app.command("list")
def submissions_list(
    phase_id: Annotated[int, typer.Option("--phase", help="The phase's id.")],
    status: Annotated[
        list[SubmissionStatus] | None,
        typer.Option(help="Only these states (repeat the option for several)."),
    ] = None,
    team: Annotated[str | None, typer.Option(help="Only this team (its exact name).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="A JSON list, not a table.")] = False,
) -> None:
    """Every submission to a phase, oldest first: team, status, failure class, attempt, times."""
    try:
        with transaction() as session:
            ctx = load_phase(session, phase_id)
            names = {t.id: t.name for t in teams.teams_of_challenge(session, ctx.challenge.id)}
            team_id = None
            if team is not None:
                found = teams.get_team_by_name(session, challenge_id=ctx.challenge.id, name=team)
                if found is None:
                    known = ", ".join(sorted(names.values())) or "none"
                    raise DomainError(
                        f"no team {team!r} in challenge {ctx.challenge.slug}; teams: {known}", 404
                    )
                team_id = found.id
            found_subs = submissions.list_phase_submissions(
                session, phase_id=phase_id, statuses=status or None
            )
            rows = [
                {
                    "id": s.id,
                    "team_id": s.team_id,
                    "team": (
                        "(reference entry)"
                        if s.team_id is None
                        else names.get(s.team_id, f"#{s.team_id}")
                    ),
                    "status": s.status.value,
                    "failure_class": s.failure_class,
                    "attempt": s.attempt,
                    "slot": s.slot,
                    "message": s.message,
                    "created_at": _when(s.created_at),
                    "queued_at": _when(s.queued_at),
                    "started_at": _when(s.started_at),
                    "finished_at": _when(s.finished_at),
                    "runtime_s": s.runtime_s,
                    "image_digest": s.image_digest,
                    "size_bytes": s.size_bytes,
                }
                for s in found_subs
                if team_id is None or s.team_id == team_id
            ]
    except DomainError as exc:
        raise fail(exc.message) from exc
    if as_json:
        typer.echo(json.dumps(rows, indent=1))
    elif rows:
        typer.echo(table(rows))
    else:
        typer.echo(f"no submission to phase {phase_id} matches", err=True)
