"""All SQL about challenges, tasks, phases, centres, cases and label sets."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.challenges.models import Case, Centre, Challenge, LabelSet, Phase, Task
from backend.submissions.models import CaseScore


def get_challenge_by_slug(session: Session, slug: str) -> Challenge | None:
    """The challenge with this slug, or ``None``."""
    return session.scalars(select(Challenge).where(Challenge.slug == slug)).one_or_none()


def list_challenges(session: Session) -> list[Challenge]:
    """Every challenge, by slug."""
    return list(session.scalars(select(Challenge).order_by(Challenge.slug)))


def get_phase(session: Session, phase_id: int) -> Phase | None:
    """The phase, or ``None``."""
    return session.get(Phase, phase_id)


def get_task(session: Session, task_id: int) -> Task | None:
    """The task, or ``None``."""
    return session.get(Task, task_id)


def tasks_of(session: Session, challenge_id: int) -> list[Task]:
    """A challenge's tasks."""
    stmt = select(Task).where(Task.challenge_id == challenge_id).order_by(Task.id)
    return list(session.scalars(stmt))


def phases_of(session: Session, task_id: int) -> list[Phase]:
    """A task's phases."""
    return list(session.scalars(select(Phase).where(Phase.task_id == task_id).order_by(Phase.id)))


def centres_of(session: Session, challenge_id: int) -> list[Centre]:
    """A challenge's centres."""
    stmt = select(Centre).where(Centre.challenge_id == challenge_id).order_by(Centre.code)
    return list(session.scalars(stmt))


def phase_context(session: Session, phase_id: int) -> tuple[Phase, Task, Challenge] | None:
    """The phase with its task and challenge (one query)."""
    stmt = (
        select(Phase, Task, Challenge)
        .join(Task, Phase.task_id == Task.id)
        .join(Challenge, Task.challenge_id == Challenge.id)
        .where(Phase.id == phase_id)
    )
    row = session.execute(stmt).one_or_none()
    return None if row is None else (row[0], row[1], row[2])


def list_cases(session: Session, *, phase_id: int, sample: bool | None = None) -> list[Case]:
    """A phase's cases by key; ``sample`` selects the public or the hidden ones."""
    stmt = select(Case).where(Case.phase_id == phase_id)
    if sample is not None:
        stmt = stmt.where(Case.is_sample.is_(sample))
    return list(session.scalars(stmt.order_by(Case.case_key)))


def active_label_sets(session: Session, task_id: int) -> dict[str, LabelSet]:
    """The active label set of each paradigm of a task."""
    stmt = select(LabelSet).where(LabelSet.task_id == task_id, LabelSet.active.is_(True))
    return {ls.paradigm: ls for ls in session.scalars(stmt)}


def label_sets_of(session: Session, *, task_id: int, paradigm: str | None = None) -> list[LabelSet]:
    """Every label-set version of a task (optionally one paradigm), oldest first."""
    stmt = select(LabelSet).where(LabelSet.task_id == task_id)
    if paradigm is not None:
        stmt = stmt.where(LabelSet.paradigm == paradigm)
    return list(session.scalars(stmt.order_by(LabelSet.paradigm, LabelSet.version)))


def next_label_set_version(session: Session, *, task_id: int, paradigm: str) -> int:
    """One more than the highest version so far (1 for the first)."""
    stmt = select(func.max(LabelSet.version)).where(
        LabelSet.task_id == task_id, LabelSet.paradigm == paradigm
    )
    return int(session.scalar(stmt) or 0) + 1


def deactivate_label_sets(session: Session, *, task_id: int, paradigm: str) -> None:
    """Mark every version of a paradigm's labels inactive (before activating one)."""
    session.execute(
        update(LabelSet)
        .where(LabelSet.task_id == task_id, LabelSet.paradigm == paradigm)
        .values(active=False)
    )
    session.flush()


def case_is_scored(session: Session, case_id: int) -> bool:
    """Whether any evaluation scored this case."""
    stmt = select(CaseScore.id).where(CaseScore.case_id == case_id).limit(1)
    return session.scalar(stmt) is not None
