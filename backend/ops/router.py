"""``/readyz`` and ``/metrics`` (outside ``/api/v1``: probes and scrapers, not clients)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from backend.ops.metrics import DatabaseCollector
from backend.ops.readiness import run_checks

router = APIRouter(tags=["meta"])


@router.get(
    "/readyz",
    responses={503: {"description": "A dependency does not answer; `message` names it."}},
)
def readyz(request: Request) -> Any:
    """Readiness probe: the database, the broker (Celery only) and the Docker engine."""
    checks = run_checks(request.app.state.settings, request.app.state.session_factory)
    summary = {c.name: c.detail for c in checks}
    failed = [c for c in checks if not c.ok]
    if failed:
        message = "not ready: " + "; ".join(f"{c.name}: {c.detail}" for c in failed)
        return JSONResponse({"message": message, "detail": {"checks": summary}}, status_code=503)
    return {"status": "ready", "checks": summary}


@router.get("/metrics", response_class=Response)
def metrics(request: Request) -> Response:
    """Prometheus exposition: submission gauges from the database plus process metrics."""
    # A registry per scrape: the collector is bound to this app's database, and
    # several apps (tests) may live in one process.
    scoped = CollectorRegistry(auto_describe=False)
    scoped.register(
        DatabaseCollector(request.app.state.session_factory, request.app.state.settings)
    )
    body = generate_latest(scoped) + generate_latest(REGISTRY)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
