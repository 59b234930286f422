"""Seed an interactive phase: teams, succeeded submissions and their per-case click curves.

Built on :func:`tests.backend.leaderboard_seed.seed_phase` (teams, submissions,
evaluations, lesion-wise scores); each evaluation then gets one
:class:`~backend.interactive.models.InteractiveCaseScore` per case whose Dice
rises from the team's ``start`` by its ``gain`` per click, so a team that
starts low but learns fast can win on DSC@Final and lose on DSC@AUC. Used by
the API test and the browser test of interactive boards.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from backend.challenges.models import Case
from backend.interactive.models import InteractiveCaseScore
from backend.submissions.models import Evaluation
from scoring.interactive.results import InteractiveCaseResult, StepResult
from tests.backend.leaderboard_seed import Seeded, TeamSpec, case_result, seed_phase


@dataclass(frozen=True)
class Learner:
    """A team of an interactive phase: Dice ``start`` with no click, ``gain`` more per click."""

    name: str
    start: float
    gain: float
    affiliated: bool = False


def curve_case(key: str, *, start: float, gain: float, clicks: int) -> InteractiveCaseResult:
    """One case's steps: Dice min(1, start + gain·k), distances shrinking as Dice grows."""
    steps = []
    for k in range(clicks + 1):
        dice = min(1.0, start + gain * k)
        steps.append(
            StepResult(
                clicks=k,
                dice=dice,
                assd=round(5 * (1 - dice), 6),
                msd=round(20 * (1 - dice), 6),
                lesions=case_result(key, dice),
            )
        )
    return InteractiveCaseResult.build(case_id=key, mode="paper", steps=steps)


def seed_interactive_phase(
    session: Session,
    *,
    teams: Sequence[Learner],
    centres: dict[str, int],
    clicks: int = 4,
    mode: str = "closed_loop",
) -> Seeded:
    """A challenge with one interactive phase (``clicks`` clicks) and the teams' scored curves.

    A case's curve varies a little by its number, so every centre's cases differ.
    """
    seeded = seed_phase(
        session,
        teams=[TeamSpec(name=t.name, qualities=[t.start], affiliated=t.affiliated) for t in teams],
        centres=centres,
    )
    seeded.challenge.description = "Lesions from clicks: a closed loop of four clicks."
    seeded.phase.interaction = {
        "mode": mode,
        "clicks": clicks,
        "paradigm": "venous",
        "simulator": {"seed": 0},
        "click_source": "simulated",
        "step_time_limit_s": 30,
        "startup_time_limit_s": 60,
    }
    cases = session.scalars(select(Case).where(Case.phase_id == seeded.phase.id)).all()
    rows = []
    for team in teams:
        (submission,) = seeded.submissions[team.name]
        evaluation = session.scalars(
            select(Evaluation).where(Evaluation.submission_id == submission.id)
        ).one()
        for i, case in enumerate(sorted(cases, key=lambda c: c.case_key)):
            jitter = 0.01 * (i % 3)
            result = curve_case(
                case.case_key, start=team.start + jitter, gain=team.gain, clicks=clicks
            )
            rows.append(
                {
                    "evaluation_id": evaluation.id,
                    "case_id": case.id,
                    "paradigm": "venous",
                    "status": result.status,
                    "clicks": clicks,
                    "dsc_auc": result.auc["dice"],
                    "asd_auc": result.auc["assd"],
                    "msd_auc": result.auc["msd"],
                    "dsc_final": result.final["dice"],
                    "asd_final": result.final["assd"],
                    "msd_final": result.final["msd"],
                    "result": result.to_dict(),
                }
            )
    session.execute(insert(InteractiveCaseScore), rows)
    session.flush()
    return seeded
