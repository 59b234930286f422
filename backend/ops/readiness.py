"""Readiness checks: the database, the broker (Celery only) and the Docker engine.

The backend may not import the Docker SDK, so the engine is asked ``GET /_ping``
over its unix socket with httpx, which is all ``docker info`` needs to succeed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import httpx
import redis
from sqlalchemy.orm import Session, sessionmaker

from backend.config import Settings
from backend.ops import repository

TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Check:
    """One dependency's answer: ``ok``, ``skipped`` (not used here) or why it failed."""

    name: str
    ok: bool
    detail: str


def check_database(session_factory: sessionmaker[Session]) -> Check:
    """``SELECT 1`` through the app's own session factory."""
    try:
        with session_factory() as session:
            repository.ping(session)
    except Exception as exc:
        return Check("database", False, _reason(exc))
    return Check("database", True, "ok")


def check_broker(settings: Settings) -> Check:
    """``PING`` the Redis broker when Celery is the job backend."""
    if settings.job_backend != "celery":
        return Check("broker", True, "skipped (embedded job queue)")
    if not settings.broker_url.startswith(("redis://", "rediss://", "unix://")):
        return Check("broker", False, f"cannot check a non-Redis broker {settings.broker_url!r}")
    client = redis.Redis.from_url(
        settings.broker_url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S
    )
    try:
        client.ping()
    except Exception as exc:
        return Check("broker", False, _reason(exc))
    finally:
        client.close()
    return Check("broker", True, "ok")


def docker_wanted(settings: Settings) -> bool:
    """Whether this process needs the engine (set, or: it runs evaluations itself)."""
    if settings.ready_check_docker is not None:
        return settings.ready_check_docker
    return settings.job_backend == "local"


def check_docker(settings: Settings) -> Check:
    """``GET /_ping`` on the engine's unix socket, expecting ``OK``."""
    if not docker_wanted(settings):
        return Check("docker", True, "skipped (evaluations run on the workers)")
    socket = Path(settings.docker_socket)
    if not socket.exists():
        return Check("docker", False, f"no Docker engine socket at {socket}")
    transport = httpx.HTTPTransport(uds=str(socket))
    try:
        with httpx.Client(transport=transport, timeout=TIMEOUT_S) as client:
            response = client.get("http://docker/_ping")
    except Exception as exc:
        return Check("docker", False, f"{socket}: {_reason(exc)}")
    if response.status_code != 200 or response.text.strip() != "OK":
        return Check("docker", False, f"{socket} answered {response.status_code}")
    return Check("docker", True, "ok")


def run_checks(settings: Settings, session_factory: sessionmaker[Session]) -> list[Check]:
    """Every readiness check, in a fixed order."""
    return [check_database(session_factory), check_broker(settings), check_docker(settings)]


def _reason(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__
