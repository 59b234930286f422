"""Seed a phase with teams, succeeded submissions and stored per-case scores.

Used by the leaderboard API tests, the browser tests and
``benchmarks/leaderboard.py``. A team's ``quality`` in ``[0, 1]`` drives every
metric the same way (higher is better everywhere), so boards have a known order.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import insert
from sqlalchemy.orm import Session

from backend.auth.models import User
from backend.challenges.models import Case, Centre, Challenge, Phase, Task
from backend.enums import (
    LeaderboardVisibility,
    PhaseKind,
    RankingSelection,
    Role,
    ScoringMode,
    SubmissionStatus,
)
from backend.references.models import ReferenceEntry
from backend.submissions.models import CaseScore, Evaluation, QuotaLedgerEntry, Submission
from backend.teams.models import Membership, Team
from scoring.results import CaseResult

_seq = itertools.count(1)


#: Lesion volumes (mm³) the seeded cases cycle through, one per lesion-size stratum.
LESION_VOLUMES = (50.0, 500.0, 5000.0)


def case_result(key: str, quality: float) -> CaseResult:
    """A plausible one-lesion case whose every metric improves with ``quality``.

    The lesion's recorded volume cycles through :data:`LESION_VOLUMES` by the
    case key's number, so the lesion-size strata hold lesions of every size.
    """
    label = 1000
    inter = round(quality * label)
    hit = quality > 0.5
    j = inter / (2 * label - inter) if inter else 0.0
    digits = "".join(ch for ch in key if ch.isdigit())
    volume = LESION_VOLUMES[int(digits or 0) % len(LESION_VOLUMES)]
    return CaseResult(
        case_id=key,
        mode="paper",
        intersection=inter,
        pred_voxels=label,
        label_voxels=label,
        dice=inter / label,
        tp_50=int(hit),
        fn_50=int(not hit),
        fp_50=int(not hit),
        tp_0=int(inter > 0),
        fn_0=int(inter == 0),
        lesion_sums={
            "dice": quality if hit else 0.0,
            "jaccard": j if hit else 0.0,
            "voe": 1 - j if hit else 0.0,
            "rvd": 0.05 * (1 - quality) if hit else 0.0,
            "assd": 4 * (1 - quality) if hit else 0.0,
            "rmsd": 6 * (1 - quality) if hit else 0.0,
            "msd": 12 * (1 - quality) if hit else 0.0,
        },
        lesion_count=int(hit),
        ref_lesion_mm3=[volume],
        ref_lesion_detected=[hit],
        fp_lesion_mm3=[] if hit else [volume],
    )


@dataclass(frozen=True)
class TeamSpec:
    """A team: its name, whether organiser-affiliated, and each submission's quality."""

    name: str
    qualities: Sequence[float]
    affiliated: bool = False
    email: str | None = None


@dataclass(frozen=True)
class ReferenceSpec:
    """A reference entry (no team): its name, kind, quality and link."""

    name: str
    kind: str
    quality: float
    link: str = ""


@dataclass
class Seeded:
    """What :func:`seed_phase` made."""

    challenge: Challenge
    task: Task
    phase: Phase
    teams: dict[str, Team]
    users: dict[str, User]
    submissions: dict[str, list[Submission]] = field(default_factory=dict)
    references: dict[str, ReferenceEntry] = field(default_factory=dict)


def seed_phase(
    session: Session,
    *,
    teams: Sequence[TeamSpec],
    centres: dict[str, int],
    paradigms: Sequence[str] = ("venous",),
    kind: PhaseKind = PhaseKind.VALIDATION,
    visibility: LeaderboardVisibility = LeaderboardVisibility.LIVE,
    selection: RankingSelection = RankingSelection.LATEST,
    closes_at: datetime | None = None,
    noise: float = 0.02,
    seed: int = 0,
    password_hash: str = "!",
    ranking: dict[str, object] | None = None,
    label_versions: dict[str, int] | None = None,
    references: Sequence[ReferenceSpec] = (),
) -> Seeded:
    """A challenge with one task and phase, the given teams and their scored submissions.

    Parameters
    ----------
    teams
        Each team's submissions, oldest first, by quality (all succeed).
    centres
        ``{centre code: number of hidden test cases}``.
    paradigms
        The task's paradigms; every submission is scored on each.
    kind, visibility, selection, closes_at
        The phase's settings (it opened a week ago; closes in a day by default).
    noise
        Spread of the per-case quality around the submission's quality.
    seed
        Seed of the per-case noise.
    password_hash
        Stored for every seeded user (``"!"`` = no password login).
    ranking
        The phase's ``ranking:`` block.
    label_versions
        The label-set version of each paradigm every evaluation records (none by default).
    references
        Reference entries, each with one succeeded, scored submission.
    """
    n = next(_seq)
    rng = np.random.default_rng(seed)
    challenge = Challenge(slug=f"lb-{n}", title=f"Leaderboard challenge {n}")
    session.add(challenge)
    session.flush()
    task = Task(
        challenge_id=challenge.id,
        slug="task1" if len(paradigms) == 1 else "task2",
        title="Task 1" if len(paradigms) == 1 else "Task 2",
        input_phase="venous",
        paradigms=list(paradigms),
    )
    session.add(task)
    session.flush()
    now = datetime.now(UTC)
    phase = Phase(
        task_id=task.id,
        slug=kind.value,
        title="Final test" if kind == PhaseKind.FINAL else "Validation",
        kind=kind,
        opens_at=now - timedelta(days=7),
        closes_at=closes_at or now + timedelta(days=1),
        submission_limit=10,
        leaderboard_visibility=visibility,
        ranking_selection=selection,
        ranking=dict(ranking or {}),
    )
    session.add(phase)
    session.flush()
    case_ids: list[tuple[int, str]] = []
    for code, count in centres.items():
        centre = Centre(challenge_id=challenge.id, code=code, name=f"Centre {code}")
        session.add(centre)
        session.flush()
        for i in range(count):
            case = Case(phase_id=phase.id, centre_id=centre.id, case_key=f"{code}_{i:03d}")
            session.add(case)
            case_ids.append((0, case.case_key))
            session.flush()
            case_ids[-1] = (case.id, case.case_key)
    out = Seeded(challenge=challenge, task=task, phase=phase, teams={}, users={})
    for spec in teams:
        user = User(
            email=spec.email or f"{spec.name.lower().replace(' ', '-')}-{n}@example.org",
            display_name=spec.name,
            password_hash=password_hash,
            role=Role.PARTICIPANT,
        )
        session.add(user)
        session.flush()
        team = Team(
            challenge_id=challenge.id,
            name=spec.name,
            captain_id=user.id,
            organiser_affiliated=spec.affiliated,
            invite_code=f"inv-{n}-{user.id}",
        )
        session.add(team)
        session.flush()
        session.add(Membership(team_id=team.id, user_id=user.id, challenge_id=challenge.id))
        out.teams[spec.name] = team
        out.users[spec.name] = user
        out.submissions[spec.name] = []
        scores: list[dict[str, object]] = []
        for k, quality in enumerate(spec.qualities):
            created = now - timedelta(hours=len(spec.qualities) - k)
            sub = Submission(
                team_id=team.id,
                phase_id=phase.id,
                slot=k + 1,
                status=SubmissionStatus.SUCCEEDED,
                tarball_sha256="0" * 64,
                image_digest="sha256:" + "0" * 64,
                size_bytes=1024 * (k + 1),
                tarball_path=f"submissions/{team.id}-{k}.tar",
                created_at=created,
                started_at=created,
                finished_at=created + timedelta(seconds=90),
                runtime_s=90.0,
                message="scored",
                log_tail=f"{spec.name} log line {k}",
            )
            session.add(sub)
            session.flush()
            session.add(
                QuotaLedgerEntry(
                    team_id=team.id,
                    phase_id=phase.id,
                    submission_id=sub.id,
                    slot=k + 1,
                    change=-1,
                    reason="submission accepted",
                )
            )
            out.submissions[spec.name].append(sub)
            scores += _scores(
                session, sub, paradigms, case_ids, quality, noise, rng, label_versions
            )
        if scores:
            session.execute(insert(CaseScore), scores)
    for ref in references:
        sub = Submission(
            team_id=None,
            phase_id=phase.id,
            status=SubmissionStatus.SUCCEEDED,
            tarball_sha256="1" * 64,
            image_digest="",
            size_bytes=1,
            tarball_path=f"references/{ref.name}",
            created_at=now - timedelta(days=1),
            message="scored",
        )
        session.add(sub)
        session.flush()
        entry = ReferenceEntry(
            phase_id=phase.id,
            submission_id=sub.id,
            name=ref.name,
            kind=ref.kind,
            source="predictions",
            link=ref.link,
            description=f"{ref.kind} reference",
        )
        session.add(entry)
        out.references[ref.name] = entry
        rows = _scores(session, sub, paradigms, case_ids, ref.quality, noise, rng, label_versions)
        session.execute(insert(CaseScore), rows)
    session.flush()
    return out


def _scores(
    session: Session,
    sub: Submission,
    paradigms: Sequence[str],
    case_ids: Sequence[tuple[int, str]],
    quality: float,
    noise: float,
    rng: np.random.Generator,
    label_versions: dict[str, int] | None,
) -> list[dict[str, object]]:
    """An evaluation of ``sub`` and its CaseScore rows (not inserted yet)."""
    evaluation = Evaluation(
        submission_id=sub.id,
        scorer_version="seed",
        mode=ScoringMode.PAPER,
        label_sets={
            p: {"label_set_id": 0, "version": v, "sha256": f"seed-{p}-v{v}"}
            for p, v in (label_versions or {}).items()
        },
    )
    session.add(evaluation)
    session.flush()
    scores: list[dict[str, object]] = []
    for p in paradigms:
        for case_id, key in case_ids:
            q = float(np.clip(quality + noise * rng.standard_normal(), 0.0, 1.0))
            result = case_result(key, q).to_dict()
            scores.append(
                {
                    "evaluation_id": evaluation.id,
                    "case_id": case_id,
                    "paradigm": p,
                    "status": "ok",
                    "dice": result["dice"],
                    "result": result,
                }
            )
    return scores
