"""The audit trail, for organisers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from backend.audit import repository
from backend.audit.schemas import AuditEventOut
from backend.deps import OrganiserUser, SessionDep

router = APIRouter(tags=["audit"])


@router.get("/audit", response_model=list[AuditEventOut])
def list_events(
    *,
    _: OrganiserUser,
    session: SessionDep,
    action: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    before_id: int | None = None,
    target_type: str | None = None,
    actor_id: int | None = None,
) -> list[AuditEventOut]:
    """Organiser and admin actions, newest first (page with ``before_id``); filter by
    ``action``, ``target_type`` (challenge, phase, task, team, submission, user) or ``actor_id``."""
    return [
        AuditEventOut.model_validate(e)
        for e in repository.list_events(
            session,
            action=action,
            limit=limit,
            before_id=before_id,
            target_type=target_type,
            actor_id=actor_id,
        )
    ]
