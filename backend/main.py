"""The FastAPI application: routers under ``/api/v1``, one JSON error shape, request logs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from backend.audit.router import router as audit_router
from backend.auth.router import router as auth_router
from backend.challenges.router import router as challenges_router
from backend.challenges.samples import router as samples_router
from backend.config import Settings, get_settings
from backend.db import make_engine, make_session_factory
from backend.deps import SessionSlots
from backend.errors import DomainError
from backend.interactive.router import router as interactive_router
from backend.jobs import CeleryJobQueue, JobQueue, LocalJobQueue
from backend.leaderboard.router import router as leaderboard_router
from backend.logs import configure_logging
from backend.ops.router import router as ops_router
from backend.registry.router import router as registry_router
from backend.submissions.router import router as submissions_router
from backend.teams.router import router as teams_router
from backend.web.console import router as console_router
from backend.web.docs import install_docs

log = structlog.get_logger("backend.api")

API_PREFIX = "/api/v1"

#: The static pages (leaderboard, team, organiser), next to the ``backend`` package.
FRONTEND_DIR = Path(__file__).resolve().parents[1] / "frontend"


class ErrorBody(BaseModel):
    """Every error response: a sentence for a person, optional details for a program."""

    message: str
    detail: Any = None


_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        400: "Bad request (e.g. a truncated upload).",
        401: "No valid bearer token.",
        403: "Signed in, but not allowed.",
        404: "No such object (or not yours to see).",
        409: "Conflicts with the current state.",
        413: "Body too large.",
        422: "Invalid input; `message` says which field and why.",
        429: "Quota used up, or too many sign-in, sign-up or reset attempts (`Retry-After`).",
        503: "A service Podium depends on (the image registry) is not answering.",
    }.items()
}


def _error(
    status: int, message: str, detail: Any = None, extra_headers: dict[str, str] | None = None
) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    headers.update(extra_headers or {})
    return JSONResponse(
        ErrorBody(message=message, detail=detail).model_dump(), status_code=status, headers=headers
    )


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(_: Request, exc: DomainError) -> JSONResponse:
        return _error(exc.status, exc.message, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in errors
        )
        detail = [{k: e.get(k) for k in ("loc", "msg", "type")} for e in errors]
        return _error(422, f"invalid request: {problems}", detail)

    @app.exception_handler(DataError)
    async def out_of_range(_: Request, exc: DataError) -> JSONResponse:
        # A value the request validation let through but the column cannot hold
        # (an id beyond 32 bits, text longer than its column): the caller's error.
        reason = str(getattr(exc, "orig", exc)).splitlines()[0]
        return _error(422, f"invalid request: a value does not fit the database ({reason})")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request.crashed", path=request.url.path)
        return _error(500, "internal error; it has been logged")


class RequestLogMiddleware:
    """One structured log line per request (pure ASGI: streamed bodies stay streamed)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )


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


def _default_queue(settings: Settings) -> JobQueue:
    if settings.job_backend == "celery":
        return CeleryJobQueue(settings.broker_url)
    return LocalJobQueue()


def _session_capacity(factory: sessionmaker[Session]) -> int | None:
    """Connections the factory's pool can hand out at once (``None``: no pool limit)."""
    pool = getattr(factory.kw.get("bind"), "pool", None)
    if not isinstance(pool, QueuePool):
        return None
    overflow = int(getattr(pool, "_max_overflow", 0))  # no public accessor; -1 = unlimited
    return None if overflow < 0 else pool.size() + overflow


def create_app(
    settings: Settings | None = None,
    *,
    session_factory: sessionmaker[Session] | None = None,
    job_queue: JobQueue | None = None,
    configure_logs: bool = True,
) -> FastAPI:
    """Build the API.

    Parameters
    ----------
    settings
        Defaults to the environment's (:func:`backend.config.get_settings`).
    session_factory
        Defaults to one on ``settings.database_url`` (tests pass one bound to
        their transaction).
    job_queue
        Where committed jobs go; defaults by ``settings.job_backend``.
    configure_logs
        Set up structlog JSON logging for the process.
    """
    settings = settings or get_settings()
    if configure_logs:
        configure_logging(level=settings.log_level, json=settings.log_json)
    app = FastAPI(
        title="Podium",
        version="0.1.0",
        description=(
            "Challenge evaluation: teams upload `docker save` tarballs under a quota; "
            "organisers define challenges and upload hidden inputs and labels. Every error "
            "is a JSON body with a `message`."
        ),
        docs_url=None,  # backend.web.docs serves /docs and /redoc without a CDN
        redoc_url=None,
        openapi_url="/openapi.json",
        responses=_ERROR_RESPONSES,
    )
    app.state.settings = settings
    app.state.session_factory = session_factory or make_session_factory(
        make_engine(settings.database_url)
    )
    app.state.job_queue = job_queue or _default_queue(settings)
    app.state.session_slots = SessionSlots(_session_capacity(app.state.session_factory))
    for router in (
        auth_router,
        challenges_router,
        samples_router,
        teams_router,
        submissions_router,
        audit_router,
        leaderboard_router,
        interactive_router,
        console_router,
        registry_router,
    ):
        app.include_router(router, prefix=API_PREFIX)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        """Liveness probe."""
        return {"status": "ok"}

    app.include_router(ops_router)
    install_docs(app)
    mount_frontend(app)
    _install_error_handlers(app)
    app.add_middleware(RequestLogMiddleware)
    return app
