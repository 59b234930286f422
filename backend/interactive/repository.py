"""All SQL about click sets and interactive case scores."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from backend.challenges.models import Case, Centre
from backend.interactive.models import ClickSet, InteractiveCaseScore
from backend.leaderboard.repository import NO_CENTRE

#: The per-case values copied out of a result into columns: (column, curve, metric).
_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("dsc_auc", "auc", "dice"),
    ("asd_auc", "auc", "assd"),
    ("msd_auc", "auc", "msd"),
    ("dsc_final", "final", "dice"),
    ("asd_final", "final", "assd"),
    ("msd_final", "final", "msd"),
)


def click_sets_of(session: Session, *, phase_id: int) -> list[ClickSet]:
    """Every click-set version of a phase, oldest first."""
    stmt = select(ClickSet).where(ClickSet.phase_id == phase_id).order_by(ClickSet.version)
    return list(session.scalars(stmt))


def active_click_set(session: Session, *, phase_id: int) -> ClickSet | None:
    """The phase's active click set, if one was uploaded."""
    stmt = select(ClickSet).where(ClickSet.phase_id == phase_id, ClickSet.active.is_(True))
    return session.scalars(stmt).one_or_none()


def next_click_set_version(session: Session, *, phase_id: int) -> int:
    """One more than the highest version so far (1 for the first)."""
    stmt = select(func.max(ClickSet.version)).where(ClickSet.phase_id == phase_id)
    return int(session.scalar(stmt) or 0) + 1


def deactivate_click_sets(session: Session, *, phase_id: int) -> None:
    """Mark every click set of a phase inactive (before activating one)."""
    session.execute(update(ClickSet).where(ClickSet.phase_id == phase_id).values(active=False))
    session.flush()


def upsert_interactive_score(
    session: Session,
    *,
    evaluation_id: int,
    case_id: int,
    paradigm: str,
    click_set_id: int | None,
    result: dict[str, Any],
) -> None:
    """Insert or replace one case × paradigm of an evaluation (a re-run overwrites).

    ``result`` is ``InteractiveCaseResult.to_dict()``; its status, click count,
    AUC and final values are copied into columns.
    """
    values: dict[str, Any] = {
        "evaluation_id": evaluation_id,
        "case_id": case_id,
        "paradigm": paradigm,
        "status": str(result["status"]),
        "clicks": int(result["clicks"]),
        "click_set_id": click_set_id,
        "result": result,
        **{column: float(result[curve][metric]) for column, curve, metric in _COLUMNS},
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(InteractiveCaseScore).values(**values)
    keys = ("evaluation_id", "case_id", "paradigm")
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys), set_={k: v for k, v in values.items() if k not in keys}
    )
    session.execute(stmt)


def scores_with_keys(
    session: Session, *, evaluation_ids: Sequence[int]
) -> list[tuple[InteractiveCaseScore, str, str]]:
    """The evaluations' interactive scores with each case's key and centre code."""
    if not evaluation_ids:
        return []
    stmt = (
        select(InteractiveCaseScore, Case.case_key, Centre.code)
        .join(Case, Case.id == InteractiveCaseScore.case_id)
        .outerjoin(Centre, Case.centre_id == Centre.id)
        .where(InteractiveCaseScore.evaluation_id.in_(list(evaluation_ids)))
        .order_by(InteractiveCaseScore.evaluation_id, Case.case_key, InteractiveCaseScore.paradigm)
    )
    return [(s, k, c or NO_CENTRE) for s, k, c in session.execute(stmt)]
