"""All SQL about registry notifications."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.registry.models import RegistryEvent


def event_recorded(session: Session, event_id: str) -> bool:
    """Whether the registry's event ``event_id`` is recorded already (it retries)."""
    stmt = select(RegistryEvent.id).where(RegistryEvent.event_id == event_id)
    return session.scalars(stmt).first() is not None


def add_event(session: Session, event: RegistryEvent) -> RegistryEvent:
    """Record one event (flushes)."""
    session.add(event)
    session.flush()
    return event


def latest_pushes(
    session: Session, *, repositories: list[str]
) -> dict[tuple[str, str], RegistryEvent]:
    """The newest push event of each ``(repository, tag)`` among ``repositories``."""
    if not repositories:
        return {}
    stmt = (
        select(RegistryEvent)
        .where(
            RegistryEvent.repository.in_(repositories),
            RegistryEvent.action == "push",
            RegistryEvent.tag.is_not(None),
        )
        .order_by(RegistryEvent.at, RegistryEvent.id)
    )
    latest: dict[tuple[str, str], RegistryEvent] = {}
    for event in session.scalars(stmt):
        latest[(event.repository, event.tag or "")] = event
    return latest


def events_of_team(session: Session, team_id: int, *, limit: int = 100) -> list[RegistryEvent]:
    """A team's most recent registry events, newest first."""
    stmt = (
        select(RegistryEvent)
        .where(RegistryEvent.team_id == team_id)
        .order_by(RegistryEvent.at.desc(), RegistryEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))
