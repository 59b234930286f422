"""The notification jobs (e-mails, webhooks) as Celery tasks, by the names the backend sends.

They go to ``PODIUM_NOTIFICATION_QUEUE`` (``notifications``), consumed by a small
worker of their own (``celery -A worker.celery_app worker -Q notifications``;
compose's ``notifier``), so an e-mail never waits behind a GPU run. An SMTP or
database failure retries the task a minute later, five times.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from backend.notifications.tasks import JOBS
from worker.celery_app import app
from worker.context import get_context


def _task(name: str, body: Callable[..., str]) -> Any:
    def run(self: Any, *args: Any) -> str:
        context = get_context()
        try:
            return body(context.session_factory, context.settings, *args)
        except Exception as exc:
            raise self.retry(exc=exc, countdown=60, max_retries=5) from exc

    run.__name__ = run.__qualname__ = f"run_{name}"
    return app.task(name=name, bind=True, acks_late=True)(run)


TASKS = {name: _task(name, body) for name, body in JOBS.items()}
