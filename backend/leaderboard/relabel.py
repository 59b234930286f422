"""New labels, new scores: activating a label set re-scores the phases it affects.

Called in the transaction that activates a label-set version. Every phase of
the task with succeeded submissions gets a re-score from the stored
predictions (audited as ``phase.rescore`` and sent by task name after the
commit, as ``POST /phases/{id}/rescore`` does), and every board of the task is
invalidated, so it says "re-scoring" until the new evaluations are in.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.challenges import repository as challenges
from backend.enums import SubmissionStatus
from backend.jobs import has_queue
from backend.leaderboard import actions, cache
from backend.submissions import repository as submissions


def rescore_on_activation(
    session: Session, *, task_id: int, actor: User | None, queue: str | None
) -> tuple[list[int], list[int]]:
    """Re-score the task's phases against its newly active labels.

    Parameters
    ----------
    session
        The activating transaction (jobs go out when it commits).
    task_id
        The task whose label set was activated.
    actor
        Who activated it (recorded with the re-score).
    queue
        The broker queue; None (or a session without a job queue, such as a
        command-line session on the embedded backend) sends nothing.

    Returns
    -------
    tuple of lists
        Phases queued for re-scoring, and phases that need one but could not be
        sent from here (``POST /phases/{id}/rescore`` does it).
    """
    task = challenges.get_task(session, task_id)
    if task is None:
        return [], []
    active = challenges.active_label_sets(session, task_id)
    complete = all(p in active for p in task.paradigms)
    queued: list[int] = []
    pending: list[int] = []
    for phase in challenges.phases_of(session, task_id):
        cache.leaderboard_changed(session, phase_id=phase.id)
        scored = submissions.list_phase_submissions(
            session, phase_id=phase.id, statuses=[SubmissionStatus.SUCCEEDED]
        )
        if not complete or not scored:
            continue
        if queue is None or not has_queue(session):
            pending.append(phase.id)
            continue
        actions.rescore_phase(session, phase_id=phase.id, actor=actor, queue=queue)
        queued.append(phase.id)
    return queued, pending
