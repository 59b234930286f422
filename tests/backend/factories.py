"""Small keyword-only factories for backend rows (flush, never commit)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.challenges.models import Case, Challenge, Phase, Task
from backend.enums import PhaseKind, Role
from backend.submissions import repository as subs
from backend.submissions.models import Submission
from backend.teams.models import Membership, Team

_seq = itertools.count(1)


def make_user(session: Session, *, role: Role = Role.PARTICIPANT, email: str | None = None) -> User:
    n = next(_seq)
    user = User(
        email=email or f"user{n}@example.org",
        display_name=f"User {n}",
        password_hash="!",
        role=role,
    )
    session.add(user)
    session.flush()
    return user


def make_challenge(session: Session, *, requires_team_approval: bool = False) -> Challenge:
    n = next(_seq)
    challenge = Challenge(
        slug=f"challenge-{n}", title=f"Challenge {n}", requires_team_approval=requires_team_approval
    )
    session.add(challenge)
    session.flush()
    return challenge


def make_phase(
    session: Session,
    *,
    challenge: Challenge | None = None,
    submission_limit: int = 3,
    kind: PhaseKind = PhaseKind.VALIDATION,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> Phase:
    challenge = challenge or make_challenge(session)
    n = next(_seq)
    task = Task(
        challenge_id=challenge.id,
        slug=f"task-{n}",
        title=f"Task {n}",
        input_phase="venous",
        paradigms=["lesion"],
    )
    session.add(task)
    session.flush()
    now = datetime.now(UTC)
    phase = Phase(
        task_id=task.id,
        slug=f"phase-{n}",
        title=f"Phase {n}",
        kind=kind,
        opens_at=opens_at or now - timedelta(days=1),
        closes_at=closes_at or now + timedelta(days=1),
        submission_limit=submission_limit,
    )
    phase.task = task
    session.add(phase)
    session.flush()
    return phase


def make_case(session: Session, *, phase: Phase, key: str, is_sample: bool = False) -> Case:
    case = Case(phase_id=phase.id, case_key=key, is_sample=is_sample)
    session.add(case)
    session.flush()
    return case


def make_team(
    session: Session, *, challenge_id: int, captain: User | None = None, approved: bool = True
) -> Team:
    captain = captain or make_user(session)
    n = next(_seq)
    team = Team(
        challenge_id=challenge_id,
        name=f"Team {n}",
        captain_id=captain.id,
        approved=approved,
        invite_code=f"invite-{n}-{captain.id}",
    )
    session.add(team)
    session.flush()
    session.add(Membership(team_id=team.id, user_id=captain.id, challenge_id=challenge_id))
    session.flush()
    return team


def make_submission(session: Session, *, team: Team, phase: Phase) -> Submission:
    sub = Submission(
        team_id=team.id,
        phase_id=phase.id,
        tarball_sha256="0" * 64,
        image_digest="sha256:" + "0" * 64,
        size_bytes=1,
        tarball_path="submissions/x.tar",
    )
    assert subs.insert_with_free_slot(session, sub, limit=phase.submission_limit)
    return sub
