"""All SQL of reference entries. None of these functions commits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.enums import SubmissionStatus
from backend.references.models import ReferenceEntry
from backend.submissions.models import Evaluation, Submission


@dataclass(frozen=True, slots=True)
class ReferenceRow:
    """A reference entry with its submission's state and latest evaluation (if any)."""

    id: int
    name: str
    kind: str
    source: str
    link: str
    description: str
    submission_id: int
    status: SubmissionStatus
    message: str
    created_at: datetime
    evaluation_id: int | None
    mode: str | None
    label_sets: dict[str, Any] = field(default_factory=dict)


def phase_references(session: Session, *, phase_id: int) -> list[ReferenceRow]:
    """The phase's reference entries, oldest first."""
    latest = (
        select(Evaluation.submission_id, func.max(Evaluation.id).label("evaluation_id"))
        .group_by(Evaluation.submission_id)
        .subquery()
    )
    stmt = (
        select(ReferenceEntry, Submission.status, Submission.message, Evaluation)
        .join(Submission, Submission.id == ReferenceEntry.submission_id)
        .outerjoin(latest, latest.c.submission_id == Submission.id)
        .outerjoin(Evaluation, Evaluation.id == latest.c.evaluation_id)
        .where(ReferenceEntry.phase_id == phase_id)
        .order_by(ReferenceEntry.id)
    )
    out = []
    for entry, status, message, evaluation in session.execute(stmt):
        out.append(
            ReferenceRow(
                id=entry.id,
                name=entry.name,
                kind=entry.kind,
                source=entry.source,
                link=entry.link,
                description=entry.description,
                submission_id=entry.submission_id,
                status=status,
                message=message,
                created_at=entry.created_at,
                evaluation_id=None if evaluation is None else evaluation.id,
                mode=None if evaluation is None else evaluation.mode.value,
                label_sets={} if evaluation is None else dict(evaluation.label_sets or {}),
            )
        )
    return out


def get_reference(session: Session, reference_id: int) -> ReferenceEntry | None:
    """A reference entry by id."""
    return session.get(ReferenceEntry, reference_id)


def name_taken(session: Session, *, phase_id: int, name: str) -> bool:
    """Whether the phase has a reference entry of that name."""
    stmt = select(ReferenceEntry.id).where(
        ReferenceEntry.phase_id == phase_id, ReferenceEntry.name == name
    )
    return session.scalar(stmt) is not None
