"""A seeded challenge with hidden data, built through the organiser API.

The hidden input and label files carry recognisable random content, so a test
can look for their bytes, sha256 and storage paths in every response.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.auth.service import issue_token
from backend.challenges.models import Case, LabelSet, Phase, Task
from backend.config import Settings
from backend.enums import Role, SubmissionStatus
from backend.submissions import repository as subs
from backend.teams.models import Membership
from tests.backend.factories import make_submission, make_team, make_user
from tests.backend.tarballs import tar_gz

SLUG = "hidden-data"
CHALLENGE_YAML = f"""
slug: {SLUG}
title: Hidden data
centres: [{{code: a, name: Centre A}}]
tasks:
  - slug: t1
    title: Task 1
    input_phase: venous
    paradigms: [lesion]
    metric_sets: {{lesion: [lesion_dice_per_case]}}
    phases:
      - slug: validation
        title: Validation
        kind: validation
        submission_limit: 5
        opens_at: "2020-01-01T00:00:00Z"
        closes_at: "2099-01-01T00:00:00Z"
        leaderboard_visibility: live
        cases: [{{key: c1, centre: a}}, {{key: c2, centre: a}}]
        sample_cases: [{{key: s1, centre: a}}]
      - slug: final
        title: Final
        kind: final
        submission_limit: 1
        opens_at: "2020-01-01T00:00:00Z"
        closes_at: "2099-01-01T00:00:00Z"
        leaderboard_visibility: live
        cases: [{{key: c1, centre: a}}, {{key: c2, centre: a}}]
        sample_cases: [{{key: s1, centre: a}}]
"""
HIDDEN_KEYS = ("c1", "c2")
FINAL_LOG = "final-phase container log that printed a hidden input"
VALIDATION_LOG = "validation container log"


@dataclass
class Seeded:
    """Ids to fill path parameters with, tokens per actor, and what must never leak."""

    ids: dict[str, list[str]]
    tokens: dict[str, str]
    token_ids: dict[str, int]
    team_id: int
    validation_phase_id: int
    final_phase_id: int
    submission_ids: dict[str, int]
    secrets: list[bytes] = field(default_factory=list)

    def headers(self, who: str) -> dict[str, str]:
        """The Authorization header of ``who`` (none for ``anonymous``)."""
        return {} if who == "anonymous" else {"Authorization": f"Bearer {self.tokens[who]}"}


def _ok(response: object) -> None:
    status = getattr(response, "status_code", 0)
    assert 200 <= status < 300, getattr(response, "text", response)


def _secrets_of_file(path: Path, data_root: Path) -> list[bytes]:
    data = path.read_bytes()
    relative = path.relative_to(data_root).as_posix()
    return [data, hashlib.sha256(data).hexdigest().encode(), relative.encode(), str(path).encode()]


def seed_challenge(client: TestClient, session: Session, settings: Settings) -> Seeded:
    """Apply the challenge, upload inputs and labels, make teams, submissions and tokens."""
    users = {
        "participant": make_user(session),
        "teammate": make_user(session),
        "other_team": make_user(session),
        "organiser": make_user(session, role=Role.ORGANISER),
        "admin": make_user(session, role=Role.ADMIN),
        "bystander": make_user(session),
    }
    tokens: dict[str, str] = {}
    token_ids: dict[str, int] = {}
    for who, user in users.items():
        row, token = issue_token(
            session, user=user, name="seed", secret_key=settings.secret_key, ttl_days=1
        )
        tokens[who], token_ids[who] = token, row.id
    session.commit()
    organiser = {"Authorization": f"Bearer {tokens['organiser']}"}
    _ok(
        client.put(
            "/api/v1/challenges",
            content=CHALLENGE_YAML,
            headers={**organiser, "Content-Type": "application/yaml"},
        )
    )
    phases = {
        p.slug: p
        for p in session.scalars(
            select(Phase).join(Task).where(Task.slug == "t1").order_by(Phase.id)
        )
    }
    task_id = phases["validation"].task_id
    marker = secrets.token_hex(8)
    for phase in phases.values():
        inputs = [
            (f"{k}.nii.gz", f"HIDDEN-INPUT-{k}-{phase.slug}-{marker}".encode()) for k in HIDDEN_KEYS
        ]
        inputs.append(("s1.nii.gz", f"public sample input {phase.slug}".encode()))
        _ok(
            client.post(
                f"/api/v1/phases/{phase.id}/inputs", content=tar_gz(inputs), headers=organiser
            )
        )
    labels = [(f"{k}.nii.gz", f"HIDDEN-LABEL-{k}-{marker}".encode()) for k in HIDDEN_KEYS]
    labels.append(("s1.nii.gz", b"public sample label"))
    _ok(
        client.post(
            f"/api/v1/tasks/{task_id}/label-sets/lesion", content=tar_gz(labels), headers=organiser
        )
    )
    # A second reader's masks as a human reference entry: hidden like the labels.
    reader = [(f"{k}.nii.gz", f"HIDDEN-READER-{k}-{marker}".encode()) for k in HIDDEN_KEYS]
    added = client.post(
        f"/api/v1/phases/{phases['validation'].id}/references/predictions",
        params={"name": "Second reader", "kind": "human"},
        content=tar_gz(reader),
        headers=organiser,
    )
    _ok(added)
    reference_id = added.json()["id"]  # type: ignore[attr-defined]
    challenge_id = _challenge_id(session, task_id)
    team = make_team(session, challenge_id=challenge_id, captain=users["participant"])
    session.add(
        Membership(team_id=team.id, user_id=users["teammate"].id, challenge_id=challenge_id)
    )
    other = make_team(session, challenge_id=challenge_id, captain=users["other_team"])
    submissions: dict[str, int] = {}
    for name, phase, owner, log in (
        ("validation", phases["validation"], team, VALIDATION_LOG),
        ("final", phases["final"], team, FINAL_LOG),
        ("other_team", phases["validation"], other, VALIDATION_LOG),
    ):
        sub = make_submission(session, team=owner, phase=phase)
        subs.set_status(session, sub, status=SubmissionStatus.RUNNING)
        subs.set_status(
            session, sub, status=SubmissionStatus.FAILED, message="exit code 1", log_tail=log
        )
        submissions[name] = sub.id
    session.commit()
    hidden: list[bytes] = [FINAL_LOG.encode()]
    for case in session.scalars(select(Case).where(Case.is_sample.is_(False))):
        assert case.input_sha256
        assert case.input_paths
        hidden.append(case.input_sha256.encode())
        for relative in case.input_paths:
            hidden += _secrets_of_file(settings.data_root / relative, settings.data_root)
    for label_set in session.scalars(select(LabelSet)):
        hidden += [label_set.sha256.encode(), label_set.storage_path.encode()]
        for key in HIDDEN_KEYS:
            for path in (settings.data_root / label_set.storage_path).glob(f"{key}.*"):
                hidden += _secrets_of_file(path, settings.data_root)
    for path in (settings.data_root / "references").rglob("*.nii.gz"):
        hidden += _secrets_of_file(path, settings.data_root)
    # 4 inputs + 2 labels + 2 reader masks
    assert sum(1 for s in hidden if s.startswith(b"HIDDEN-")) == 8
    ids = {
        "slug": [SLUG],
        "phase_id": [str(phases["validation"].id), str(phases["final"].id)],
        "task_id": [str(task_id)],
        "team_id": [str(team.id), str(other.id)],
        "user_id": [str(users["bystander"].id), str(users["teammate"].id)],
        "submission_id": [str(v) for v in submissions.values()],
        "token_id": [str(token_ids["bystander"])],
        "reference_id": [str(reference_id)],
        "key": ["c1", "s1"],
        "paradigm": ["lesion"],
    }
    return Seeded(
        ids=ids,
        tokens=tokens,
        token_ids=token_ids,
        team_id=team.id,
        validation_phase_id=phases["validation"].id,
        final_phase_id=phases["final"].id,
        submission_ids=submissions,
        secrets=hidden,
    )


def _challenge_id(session: Session, task_id: int) -> int:
    task = session.get(Task, task_id)
    assert task is not None
    return task.challenge_id
