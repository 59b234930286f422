"""All SQL the leaderboard needs: generations, counted submissions, stored case results.

None of these functions commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from backend.challenges.models import Case, Centre
from backend.db import utcnow
from backend.enums import SubmissionStatus
from backend.leaderboard.models import LeaderboardGeneration
from backend.submissions.lifecycle import KEEPS_BOARD_RESULT
from backend.submissions.models import CaseScore, Evaluation, Submission
from backend.teams.models import Team

#: Centre code given to test cases without a centre.
NO_CENTRE = "all"


def bump_generation(session: Session, *, phase_id: int) -> None:
    """Add one to the phase's generation (creating the row at 1), in the caller's transaction."""
    values = {"phase_id": phase_id, "generation": 1}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(LeaderboardGeneration).values(**values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["phase_id"],
        set_={"generation": LeaderboardGeneration.generation + 1, "updated_at": utcnow()},
    )
    session.execute(stmt)


def generation(session: Session, *, phase_id: int) -> int:
    """The phase's generation (0 before the first bump)."""
    stmt = select(LeaderboardGeneration.generation).where(
        LeaderboardGeneration.phase_id == phase_id
    )
    return int(session.scalar(stmt) or 0)


def submissions_fingerprint(session: Session, *, phase_id: int) -> tuple[Any, ...]:
    """What changes whenever a submission of the phase changes state or is re-evaluated.

    A second line of defence behind the generation number, for writers that
    forget to bump it: a state change touches ``updated_at``, a re-scoring adds
    an evaluation.
    """
    stmt = (
        select(func.count(Submission.id), func.max(Submission.updated_at), func.max(Evaluation.id))
        .select_from(Submission)
        .outerjoin(Evaluation, Evaluation.submission_id == Submission.id)
        .where(Submission.phase_id == phase_id)
    )
    row = session.execute(stmt).one()
    return (row[0], None if row[1] is None else str(row[1]), row[2])


@dataclass(frozen=True, slots=True)
class PhaseCase:
    """A hidden test case of a phase with its centre's code."""

    id: int
    key: str
    centre: str


def test_cases(session: Session, *, phase_id: int) -> list[PhaseCase]:
    """The phase's hidden test cases by key, with centre codes."""
    stmt = (
        select(Case.id, Case.case_key, Centre.code)
        .outerjoin(Centre, Case.centre_id == Centre.id)
        .where(Case.phase_id == phase_id, Case.is_sample.is_(False))
        .order_by(Case.case_key)
    )
    return [PhaseCase(id=i, key=k, centre=c or NO_CENTRE) for i, k, c in session.execute(stmt)]


def challenge_teams(session: Session, *, challenge_id: int) -> list[Team]:
    """Every team of a challenge, by id."""
    stmt = select(Team).where(Team.challenge_id == challenge_id).order_by(Team.id)
    return list(session.scalars(stmt))


@dataclass(frozen=True, slots=True)
class Candidate:
    """A submission with a stored evaluation: succeeded, or being run again.

    ``rerunning`` marks a submission an organiser sent back for another run:
    its previous evaluation keeps it on the board until the new one succeeds.
    """

    submission_id: int
    team_id: int
    created_at: datetime
    selected: bool
    evaluation_id: int
    mode: str
    mean_dice: float | None
    label_sets: dict[str, Any] = field(default_factory=dict)
    rerunning: bool = False


def _latest_evaluations(phase_id: int) -> Any:
    return (
        select(Evaluation.submission_id, func.max(Evaluation.id).label("evaluation_id"))
        .join(Submission, Submission.id == Evaluation.submission_id)
        .where(Submission.phase_id == phase_id)
        .group_by(Evaluation.submission_id)
        .subquery()
    )


#: States in which a submission with an evaluation keeps it on the board (the lifecycle's rule).
RANKABLE_STATUSES = tuple(sorted(KEEPS_BOARD_RESULT))


def succeeded_submissions(session: Session, *, phase_id: int) -> list[Candidate]:
    """Every team submission of the phase with an evaluation that may count, oldest first.

    Succeeded ones, and those being run again (``rerunning``; evaluations are
    only written by a successful run, so an unfinished submission that has one
    succeeded before). ``mean_dice`` is the mean per-case Dice over all
    paradigms of its latest evaluation (what the ``best`` selection orders by).
    Reference entries (no team) are not among them.
    """
    latest = _latest_evaluations(phase_id)
    dice = (
        select(CaseScore.evaluation_id, func.avg(CaseScore.dice).label("mean_dice"))
        .where(CaseScore.evaluation_id.in_(select(latest.c.evaluation_id)))
        .group_by(CaseScore.evaluation_id)
        .subquery()
    )
    stmt = (
        select(
            Submission.id,
            Submission.team_id,
            Submission.created_at,
            Submission.selected,
            latest.c.evaluation_id,
            Evaluation.mode,
            dice.c.mean_dice,
            Evaluation.label_sets,
            Submission.status,
        )
        .join(latest, latest.c.submission_id == Submission.id)
        .join(Evaluation, Evaluation.id == latest.c.evaluation_id)
        .outerjoin(dice, dice.c.evaluation_id == latest.c.evaluation_id)
        .where(
            Submission.phase_id == phase_id,
            Submission.team_id.is_not(None),
            Submission.status.in_(RANKABLE_STATUSES),
        )
        .order_by(Submission.id)
    )
    return [
        Candidate(
            submission_id=s,
            team_id=t,
            created_at=c,
            selected=bool(sel),
            evaluation_id=e,
            mode=str(m.value if hasattr(m, "value") else m),
            mean_dice=None if d is None else float(d),
            label_sets=dict(ls or {}),
            rerunning=status != SubmissionStatus.SUCCEEDED,
        )
        for s, t, c, sel, e, m, d, ls, status in session.execute(stmt)
    ]


def entry_counts(session: Session, *, phase_id: int) -> dict[int, int]:
    """Submissions per team in the phase, cancelled ones left out."""
    stmt = (
        select(Submission.team_id, func.count(Submission.id))
        .where(
            Submission.phase_id == phase_id,
            Submission.team_id.is_not(None),
            Submission.status != SubmissionStatus.CANCELLED,
        )
        .group_by(Submission.team_id)
    )
    return {int(t): int(n) for t, n in session.execute(stmt) if t is not None}


def case_results(
    session: Session, *, evaluation_ids: Sequence[int]
) -> list[tuple[int, int, str, dict[str, Any]]]:
    """``(evaluation_id, case_id, paradigm, result)`` of the given evaluations.

    ``result`` is the stored summary (``CaseScore.summary``): the result without its
    per-lesion list, which boards never read and which is most of a real result.
    """
    if not evaluation_ids:
        return []
    stmt = select(
        CaseScore.evaluation_id, CaseScore.case_id, CaseScore.paradigm, CaseScore.summary
    ).where(CaseScore.evaluation_id.in_(list(evaluation_ids)))
    return [(e, c, p, r) for e, c, p, r in session.execute(stmt)]


def case_scores_with_keys(
    session: Session, *, evaluation_id: int
) -> list[tuple[CaseScore, str, str]]:
    """An evaluation's case scores with each case's key and centre code."""
    stmt = (
        select(CaseScore, Case.case_key, Centre.code)
        .join(Case, Case.id == CaseScore.case_id)
        .outerjoin(Centre, Case.centre_id == Centre.id)
        .where(CaseScore.evaluation_id == evaluation_id)
        .order_by(Case.case_key, CaseScore.paradigm)
    )
    return [(s, k, c or NO_CENTRE) for s, k, c in session.execute(stmt)]


def clear_selection(session: Session, *, team_id: int, phase_id: int) -> None:
    """Unselect every submission of the team in the phase."""
    for sub in session.scalars(
        select(Submission).where(
            Submission.team_id == team_id,
            Submission.phase_id == phase_id,
            Submission.selected.is_(True),
        )
    ):
        sub.selected = False
    session.flush()
