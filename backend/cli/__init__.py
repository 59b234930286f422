"""``podium``: administer the service from a shell.

Migrations and accounts (:mod:`.admin`), challenges, inputs and label sets
(:mod:`.challenges`), re-scoring, publishing and exports (:mod:`.phases`),
submissions (:mod:`.submissions`), what it talks to (:mod:`.status`), the
registry's config (:mod:`.registry`). Each command calls the same service as
the API endpoint it mirrors, in one transaction it commits once, and writes the
same audit events; bad input ends with ``error: …`` on stderr and status 1.
Without ``PODIUM_DATABASE_URL`` it adopts the settings of a demo on this
machine (:mod:`.instance`).
"""

from __future__ import annotations

import os
from pathlib import Path

from backend.cli import (  # noqa: F401 - registers commands
    challenges,
    doctor,
    phases,
    registry,
    status,
    submissions,
)
from backend.cli.admin import alembic_config
from backend.cli.app import app
from backend.cli.instance import adopt_instance

__all__ = ["alembic_config", "app", "main"]


def main() -> None:
    """Console-script entry point."""
    adopt_instance(os.environ, Path.cwd())
    app()
