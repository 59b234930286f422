"""Reading interactive results: one submission's, and each counted submission's of a phase.

Who reads what: organisers read every submission's per-case curves; a team
reads its own in a validation phase (a final phase's hidden test set stays
with the organisers, as its logs do). The board ranks the counted submission
of each team (:func:`counted_case_results`, the same selection as the board's).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.auth.roles import is_organiser
from backend.challenges import repository as challenges
from backend.enums import PhaseKind
from backend.errors import ForbiddenError, NotFoundError
from backend.interactive import repository
from backend.interactive.models import InteractiveCaseScore
from backend.interactive.schemas import (
    InteractionOut,
    InteractiveCaseOut,
    PhaseInteractiveOut,
    SubmissionInteractiveOut,
)
from backend.interactive.service import interactive_phase
from backend.leaderboard import repository as boards
from backend.leaderboard.context import team_ref
from backend.leaderboard.selection import counted_submissions
from backend.submissions import repository as submissions
from backend.teams import repository as teams
from scoring.interactive.results import InteractiveCaseResult


def _case_out(
    row: InteractiveCaseScore, key: str, centre: str, *, detail: bool
) -> InteractiveCaseOut:
    steps = row.result.get("steps", [])
    return InteractiveCaseOut(
        case=key,
        centre=centre,
        paradigm=row.paradigm,
        status=row.status,
        clicks=row.clicks,
        dsc_auc=row.dsc_auc,
        asd_auc=row.asd_auc,
        msd_auc=row.msd_auc,
        dsc_final=row.dsc_final,
        asd_final=row.asd_final,
        msd_final=row.msd_final,
        dice_curve=[float(s["dice"]) for s in steps],
        result=row.result if detail else None,
    )


def _submission_out(
    session: Session, submission_id: int, *, detail: bool
) -> SubmissionInteractiveOut:
    sub = submissions.get_submission(session, submission_id)
    if sub is None:
        raise NotFoundError("submission", submission_id)
    team = None if sub.team_id is None else teams.get_team(session, sub.team_id)
    if sub.team_id is not None and team is None:
        raise NotFoundError("team", sub.team_id)
    evaluation = submissions.latest_evaluation(session, sub.id)
    rows = (
        []
        if evaluation is None
        else repository.scores_with_keys(session, evaluation_ids=[evaluation.id])
    )
    return SubmissionInteractiveOut(
        submission_id=sub.id,
        team=None if team is None else team_ref(team),
        evaluation_id=None if evaluation is None else evaluation.id,
        scorer_version=None if evaluation is None else evaluation.scorer_version,
        mode=None if evaluation is None else evaluation.mode.value,
        cases=[_case_out(r, k, c, detail=detail) for r, k, c in rows],
    )


def submission_results(
    session: Session, *, submission_id: int, user: User, detail: bool = True
) -> SubmissionInteractiveOut:
    """A submission's per-case interactive results from its latest evaluation.

    Raises
    ------
    DomainError
        404 for no such submission; 403 unless the user organises, or is in
        the submission's team and the phase is a validation phase; 409 when
        the phase is not interactive.
    """
    sub = submissions.get_submission(session, submission_id)
    if sub is None:
        raise NotFoundError("submission", submission_id)
    phase, _ = interactive_phase(session, sub.phase_id)
    if not is_organiser(user):
        context = challenges.phase_context(session, phase.id)
        assert context is not None
        mine = teams.membership(session, user_id=user.id, challenge_id=context[2].id)
        if mine is None or mine.team_id != sub.team_id:
            raise ForbiddenError("you may only read your own team's results")
        if phase.kind != PhaseKind.VALIDATION:
            raise ForbiddenError(
                "per-case results of a final phase's hidden test set are for the organisers; "
                "the board shows your ranked values once it is published"
            )
    return _submission_out(session, sub.id, detail=detail)


@dataclass(frozen=True, slots=True)
class CountedCase:
    """One case × paradigm of a counted submission, as the board ranks it."""

    case_key: str
    centre: str
    paradigm: str
    result: InteractiveCaseResult


@dataclass(slots=True)
class CountedSubmission:
    """A team's counted submission of an interactive phase and its per-case results."""

    team_id: int
    submission_id: int
    evaluation_id: int
    cases: list[CountedCase] = field(default_factory=list)

    def by_paradigm(self) -> dict[str, list[InteractiveCaseResult]]:
        """``results[paradigm]``, in case order (what ``scoring.interactive.aggregate`` takes)."""
        out: dict[str, list[InteractiveCaseResult]] = {}
        for case in self.cases:
            out.setdefault(case.paradigm, []).append(case.result)
        return out


def counted_case_results(session: Session, *, phase_id: int) -> dict[int, CountedSubmission]:
    """Each team's counted submission (the board's selection) with its interactive results.

    Returns
    -------
    dict
        ``counted[team_id]``; teams without a succeeded, evaluated submission are absent.
    """
    phase, _ = interactive_phase(session, phase_id)
    counted = counted_submissions(
        boards.succeeded_submissions(session, phase_id=phase.id),
        selection=phase.ranking_selection,
    )
    out = {
        team_id: CountedSubmission(
            team_id=team_id, submission_id=c.submission_id, evaluation_id=c.evaluation_id
        )
        for team_id, c in counted.items()
    }
    by_evaluation = {c.evaluation_id: out[t] for t, c in counted.items()}
    rows = repository.scores_with_keys(session, evaluation_ids=list(by_evaluation))
    for row, key, centre in rows:
        by_evaluation[row.evaluation_id].cases.append(
            CountedCase(
                case_key=key,
                centre=centre,
                paradigm=row.paradigm,
                result=InteractiveCaseResult.from_dict(row.result),
            )
        )
    return out


def phase_results(session: Session, *, phase_id: int, detail: bool = False) -> PhaseInteractiveOut:
    """Every counted submission's per-case results (organisers), one per team."""
    _, interaction = interactive_phase(session, phase_id)
    counted = counted_case_results(session, phase_id=phase_id)
    return PhaseInteractiveOut(
        phase_id=phase_id,
        interaction=InteractionOut(**interaction.describe()),
        submissions=[
            _submission_out(session, c.submission_id, detail=detail)
            for _, c in sorted(counted.items())
        ],
    )
