"""The scorer stays a pure library: teams install it alone and run it locally."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("fastapi", "sqlalchemy", "celery", "docker", "redis", "starlette", "alembic", "kombu")


def test_importing_scoring_pulls_in_no_service_dependency() -> None:
    code = (
        "import sys, scoring, scoring.results\n"
        "import importlib, pkgutil\n"
        "for m in pkgutil.iter_modules(scoring.__path__):\n"
        "    importlib.import_module('scoring.' + m.name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"importing scoring imported {out}"
