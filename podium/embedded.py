"""Podium in one process: the API with the evaluation worker on a background thread.

SQLite and local files under ``PODIUM_DATA_ROOT`` by default; containers run on the
local Docker engine. This is what ``scripts/demo`` serves.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from backend.jobs import EVALUATE_SUBMISSION, Job, LocalJobQueue
from backend.main import create_app
from backend.submissions.lifecycle import UNFINISHED
from backend.submissions.models import Submission
from worker.config import WorkerSettings
from worker.context import make_context
from worker.embedded import embedded_queue

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class EmbeddedService:
    """The app and the in-process queue that evaluates its submissions."""

    app: FastAPI
    queue: LocalJobQueue
    session_factory: sessionmaker[Session]
    settings: WorkerSettings


def build_service(settings: WorkerSettings, *, configure_logs: bool = True) -> EmbeddedService:
    """The API and the in-process worker, sharing one database engine.

    Parameters
    ----------
    settings
        Worker settings (a superset of the API's), usually from the environment.
    configure_logs
        Set up structlog JSON logging for the process.
    """
    context = make_context(settings)
    queue = embedded_queue(context=context)
    app = create_app(
        settings,
        session_factory=context.session_factory,
        job_queue=queue,
        configure_logs=configure_logs,
    )
    return EmbeddedService(
        app=app, queue=queue, session_factory=context.session_factory, settings=settings
    )


def resume_unfinished(service: EmbeddedService) -> list[int]:
    """Send again the submissions an earlier run left unfinished (the jobs lived in memory).

    A submission still marked running is taken over by the guarded evaluation
    once its old heartbeat has gone silent, so nothing runs twice at once.

    Returns
    -------
    list of int
        The ids sent.
    """
    with service.session_factory() as session:
        ids = list(
            session.scalars(
                select(Submission.id)
                .where(Submission.status.in_(UNFINISHED))
                .order_by(Submission.id)
            )
        )
    for submission_id in ids:
        service.queue.send(
            Job(
                task_name=EVALUATE_SUBMISSION,
                args=(submission_id,),
                queue=service.settings.evaluation_queue,
            )
        )
    if ids:
        log.info("embedded.resumed", submissions=ids)
    return ids
