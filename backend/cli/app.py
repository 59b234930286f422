"""The ``podium`` command and its groups; each command module registers on these."""

from __future__ import annotations

import typer

app = typer.Typer(help="Podium administration.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
challenge_app = typer.Typer(help="Challenges.", no_args_is_help=True)
user_app = typer.Typer(help="Users and API tokens.", no_args_is_help=True)
phase_app = typer.Typer(
    help="Phases: test inputs, re-scoring, publishing, exports.", no_args_is_help=True
)
task_app = typer.Typer(help="Tasks: label sets.", no_args_is_help=True)
submissions_app = typer.Typer(help="Submissions.", no_args_is_help=True)
registry_app = typer.Typer(
    help="The image registry: its config, the signing key.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(challenge_app, name="challenge")
app.add_typer(phase_app, name="phase")
app.add_typer(task_app, name="task")
app.add_typer(submissions_app, name="submissions")
app.add_typer(user_app, name="user")
app.add_typer(registry_app, name="registry")
