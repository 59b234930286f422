"""Notice every submission that reaches an end, wherever it happens, and notify after commit.

Submissions end in the worker (succeeded, failed, pre-flight failed, error), in
the reaper and in requests. Rather than a call at each of those places, one
``after_flush`` listener sees the ``status`` change of any
:class:`~backend.submissions.models.Submission` to an ending state and enqueues
``notify_submission_ended`` on the session: the job is sent once the
transaction commits, and dropped if it rolls back (``backend.jobs``). A session
gets this only when bound with :func:`bind_notifications` (the API's request
sessions, the worker's and the embedded queue's); others notify nothing.

A team that cancels its own submission is not e-mailed about it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from backend.enums import SubmissionStatus
from backend.jobs import JobQueue, bind_factory, enqueue
from backend.notifications.tasks import NOTIFY_SUBMISSION_ENDED
from backend.submissions.lifecycle import FINISHED
from backend.submissions.models import Submission

_NOTIFY_QUEUE_KEY = "podium_notification_queue"
#: Ending states a team is e-mailed about.
NOTIFIED = FINISHED - {SubmissionStatus.CANCELLED}


def bind_notifications(target: Session | sessionmaker[Session], *, queue_name: str) -> None:
    """Let ``target`` (a session, or every session of a factory) enqueue notifications."""
    if isinstance(target, Session):
        target.info[_NOTIFY_QUEUE_KEY] = queue_name
    else:
        info = dict(target.kw.get("info") or {})
        info[_NOTIFY_QUEUE_KEY] = queue_name
        target.configure(info=info)


def bind_worker_factory(factory: sessionmaker[Session], *, jobs: JobQueue, queue_name: str) -> None:
    """Make a worker's sessions send their committed jobs to ``jobs``, notifications included."""
    bind_factory(factory, jobs)
    bind_notifications(factory, queue_name=queue_name)


@event.listens_for(Session, "after_flush")
def _submission_ended(session: Session, _context: Any) -> None:
    queue_name = session.info.get(_NOTIFY_QUEUE_KEY)
    if queue_name is None:
        return
    for obj in session.dirty:
        if not isinstance(obj, Submission):
            continue
        added = inspect(obj).attrs.status.history.added
        if added and added[-1] in NOTIFIED:
            enqueue(session, task_name=NOTIFY_SUBMISSION_ENDED, args=[obj.id], queue=queue_name)
