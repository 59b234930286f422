"""Writing a run's case scores into the submission's evaluation (no commit here)."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from sqlalchemy.orm import Session

from backend.enums import ScoringMode
from backend.submissions import repository as submissions
from scoring.results import CaseResult
from worker.cases import CaseInput, LabelSource


def scorer_version() -> str:
    """The version of the scoring code, stored with every evaluation."""
    try:
        return f"podium-scoring {version('podium')}"
    except PackageNotFoundError:  # a source checkout that was never installed
        return "podium-scoring unversioned"


def write_scores(
    session: Session,
    submission_id: int,
    *,
    labels: dict[str, LabelSource],
    mode: ScoringMode,
    cases: tuple[CaseInput, ...],
    results: dict[tuple[str, str], CaseResult],
) -> int:
    """Upsert CaseScores into the submission's evaluation for these label sets.

    The evaluation is found by (label sets, scorer version, mode) or created,
    so a repeated run or re-scoring overwrites rather than duplicates.
    """
    described = {p: label.describe() for p, label in sorted(labels.items())}
    version = scorer_version()
    evaluation = submissions.latest_evaluation(session, submission_id)
    if evaluation is None or (
        evaluation.label_sets,
        evaluation.scorer_version,
        evaluation.mode,
    ) != (
        described,
        version,
        mode,
    ):
        evaluation = submissions.create_evaluation(
            session,
            submission_id=submission_id,
            label_sets=described,
            scorer_version=version,
            mode=mode,
        )
    pk = {c.case_key: c.case_pk for c in cases}
    for (case_key, paradigm), result in sorted(results.items()):
        submissions.upsert_case_score(
            session,
            evaluation_id=evaluation.id,
            case_id=pk[case_key],
            paradigm=paradigm,
            result=result.to_dict(),
        )
    return evaluation.id
