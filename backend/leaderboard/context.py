"""A phase with everything a board or history needs about it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.challenges import repository as challenges
from backend.challenges.models import Challenge, Phase, Task
from backend.errors import NotFoundError
from backend.leaderboard import repository
from backend.leaderboard.repository import PhaseCase
from backend.leaderboard.schemas import PhaseRef, TeamRef
from backend.teams.models import Team


@dataclass(frozen=True, slots=True)
class PhaseContext:
    """A phase with its task, challenge and hidden test cases."""

    phase: Phase
    task: Task
    challenge: Challenge
    cases: list[PhaseCase]

    @property
    def centres(self) -> list[str]:
        """Centre codes in first-seen case order."""
        return list(dict.fromkeys(c.centre for c in self.cases))

    def ref(self) -> PhaseRef:
        """The phase as responses name it."""
        p = self.phase
        return PhaseRef(
            id=p.id,
            slug=p.slug,
            title=p.title,
            kind=p.kind,
            task=self.task.slug,
            task_title=self.task.title,
            challenge=self.challenge.slug,
            closes_at=p.closes_at,
            leaderboard_visibility=p.leaderboard_visibility,
            ranking_selection=p.ranking_selection,
            paradigms=list(self.task.paradigms),
            centres=self.centres,
        )


def team_ref(team: Team) -> TeamRef:
    """A team as responses name it."""
    return TeamRef(id=team.id, name=team.name, affiliated=team.organiser_affiliated)


def load_phase(session: Session, phase_id: int) -> PhaseContext:
    """The phase's context, or 404."""
    found = challenges.phase_context(session, phase_id)
    if found is None:
        raise NotFoundError("phase", phase_id)
    phase, task, challenge = found
    return PhaseContext(
        phase=phase,
        task=task,
        challenge=challenge,
        cases=repository.test_cases(session, phase_id=phase_id),
    )
