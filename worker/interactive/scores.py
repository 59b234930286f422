"""Writing an interactive run's per-case results (no commit here; the caller's transaction)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from backend.interactive import repository
from scoring.interactive.results import InteractiveCaseResult
from worker.cases import CaseInput


def write_interactive_scores(
    session: Session,
    *,
    evaluation_id: int,
    cases: Sequence[CaseInput],
    results: Mapping[tuple[str, str], InteractiveCaseResult],
    click_set_id: int | None,
) -> None:
    """Upsert one row per case and paradigm beside the evaluation's CaseScores.

    ``click_set_id`` names the uploaded click files the clicks came from
    (``None``: simulated).
    """
    pk = {c.case_key: c.case_pk for c in cases}
    for (case_key, paradigm), result in sorted(results.items()):
        repository.upsert_interactive_score(
            session,
            evaluation_id=evaluation_id,
            case_id=pk[case_key],
            paradigm=paradigm,
            click_set_id=click_set_id,
            result=result.to_dict(),
        )
