"""``podium``: administer the service from a shell.

Migrations and accounts (:mod:`.admin`), challenges, inputs and label sets
(:mod:`.challenges`), re-scoring, publishing and exports (:mod:`.phases`),
submissions (:mod:`.submissions`), the registry's config (:mod:`.registry`).
Each command calls the same service as the API endpoint it mirrors, in one
transaction it commits once, and writes the same audit events; bad input ends
with ``error: …`` on stderr and status 1.
"""

from __future__ import annotations

from backend.cli import challenges, phases, registry, submissions  # noqa: F401 - registers
from backend.cli.admin import alembic_config
from backend.cli.app import app

__all__ = ["alembic_config", "app", "main"]


def main() -> None:
    """Console-script entry point."""
    app()
