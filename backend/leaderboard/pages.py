"""Serves ``frontend/`` (the leaderboard, team and organiser pages) from the API."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

#: The static pages, next to the ``backend`` package in the repository.
FRONTEND_DIR = Path(__file__).resolve().parents[2] / "frontend"


def mount_frontend(app: FastAPI, *, directory: Path = FRONTEND_DIR) -> bool:
    """Serve ``directory`` at ``/`` (``index.html`` for folders); call after the API routes.

    Returns
    -------
    bool
        False, mounting nothing, when ``directory`` has no ``index.html`` (an
        API-only install from a wheel, which carries no pages).
    """
    if not (directory / "index.html").is_file():
        return False
    app.mount("/", StaticFiles(directory=directory, html=True), name="frontend")
    return True
