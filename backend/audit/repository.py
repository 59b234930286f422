"""All SQL about audit events."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit.models import AuditEvent


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Write one audit event in the caller's transaction (it commits with the change)."""
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        before=before,
        after=after,
    )
    session.add(event)
    session.flush()
    return event


def list_events(
    session: Session,
    *,
    action: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
    target_type: str | None = None,
    actor_id: int | None = None,
) -> list[AuditEvent]:
    """Most recent events first, optionally of one action, target type or actor."""
    stmt = select(AuditEvent)
    if action is not None:
        stmt = stmt.where(AuditEvent.action == action)
    if target_type is not None:
        stmt = stmt.where(AuditEvent.target_type == target_type)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    return list(session.scalars(stmt.order_by(AuditEvent.id.desc()).limit(limit)))
