"""Seed the demo through the real HTTP API, as an organiser and three teams would.

Every step looks first and only changes what is missing, so a second run of the
demo on the same data root reuses everything (no duplicate teams, tokens or
submissions).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from backend.enums import SubmissionStatus
from backend.submissions.lifecycle import FINISHED, UNFINISHED
from podium.images import DemoTeam

CHALLENGE = "trials-demo"
TERMINAL = {s.value for s in FINISHED}
#: Submissions that count as "this team has already entered" on a second run.
ENTERED = {s.value for s in UNFINISHED | {SubmissionStatus.SUCCEEDED}}

Say = Callable[[str], None]


class SeedError(Exception):
    """The API refused a seeding step; the message carries its answer."""


@dataclass
class TeamAccess:
    """What the demo prints and the e2e test reads for one team."""

    name: str
    email: str
    password: str
    token: str
    team_id: int
    affiliated: bool


@dataclass
class Seeded:
    """The seeded challenge: validation phase ids per task, interactive phase ids, the teams."""

    phases: dict[str, int] = field(default_factory=dict)
    interactive: dict[str, int] = field(default_factory=dict)
    teams: list[TeamAccess] = field(default_factory=list)


class Api:
    """A thin JSON client; every refusal becomes a :class:`SeedError` with the server's message."""

    def __init__(self, base_url: str) -> None:
        self._client = httpx.Client(base_url=f"{base_url}/api/v1", timeout=300)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        ok: Iterable[int] = (200, 201),
        **kwargs: Any,
    ) -> httpx.Response:
        """One request; raises unless the status is in ``ok``."""
        headers = dict(kwargs.pop("headers", {}))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        response = self._client.request(method, path, headers=headers, **kwargs)
        if response.status_code not in set(ok):
            try:
                message = response.json().get("message")
            except ValueError:
                message = response.text[:300]
            raise SeedError(f"{method} {path} answered {response.status_code}: {message}")
        return response


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tar_gz_of(files: Iterable[Path]) -> bytes:
    """A .tar.gz with each file at the top level, named as it is (``<case key>.nii.gz``)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in files:
            tar.add(path, arcname=path.name)
    return buffer.getvalue()


def apply_challenge(api: Api, *, organiser: str, challenge_file: Path, say: Say) -> dict[str, Any]:
    """PUT the YAML, then upload changed inputs and the label sets; returns the challenge."""
    challenge: dict[str, Any] = api.call(
        "PUT",
        "/challenges",
        token=organiser,
        content=challenge_file.read_bytes(),
        headers={"Content-Type": "application/yaml"},
    ).json()
    say(f"challenge {challenge['slug']} applied ({len(challenge['tasks'])} tasks)")
    spec = yaml.safe_load(challenge_file.read_text(encoding="utf-8"))
    base = challenge_file.parent
    tasks = {t["slug"]: t for t in challenge["tasks"]}
    for task_spec in spec["tasks"]:
        task = tasks[task_spec["slug"]]
        phase_ids = {p["slug"]: p["id"] for p in task["phases"]}
        for phase_spec in task_spec["phases"]:
            phase_id = phase_ids[phase_spec["slug"]]
            local = {
                case["key"]: base / case["inputs"][0]
                for case in [*phase_spec["cases"], *phase_spec.get("sample_cases", [])]
            }
            stored = {
                c["case_key"]: c["input_sha256"]
                for c in api.call("GET", f"/phases/{phase_id}/cases", token=organiser).json()
            }
            if all(stored.get(key) == _sha256(path) for key, path in local.items()):
                continue
            answer = api.call(
                "POST",
                f"/phases/{phase_id}/inputs",
                token=organiser,
                content=tar_gz_of(local.values()),
                headers={"Content-Type": "application/octet-stream"},
            ).json()
            say(
                f"{task['slug']}/{phase_spec['slug']}: uploaded {answer['cases_total']} inputs"
                f" ({len(answer['cases_updated'])} new)"
            )
        for paradigm, folder in task_spec["labels"].items():
            files = sorted(p for p in (base / folder).iterdir() if p.is_file())
            answer = api.call(
                "POST",
                f"/tasks/{task['id']}/label-sets/{paradigm}",
                token=organiser,
                content=tar_gz_of(files),
                headers={"Content-Type": "application/octet-stream"},
            ).json()
            state = "uploaded" if answer.get("created") else "unchanged"
            say(f"{task['slug']}: label set {paradigm} {state} ({len(files)} cases)")
    return challenge


def team_access(
    api: Api, *, team: DemoTeam, organiser: str, known_token: str | None, say: Say
) -> TeamAccess:
    """Sign the team's user in and create its team, unless it exists; a working API token.

    The account itself is made on the shell side (:func:`podium.demo.migrate_and_bootstrap`).
    """
    token = known_token
    if token is None or api.call("GET", "/auth/me", token=token, ok=(200, 401)).status_code != 200:
        session = api.call(
            "POST", "/auth/login", json={"email": team.email, "password": team.password}
        ).json()["token"]
        token = api.call("POST", "/auth/tokens", token=session, json={"name": "demo"}).json()[
            "token"
        ]
    mine = api.call("GET", f"/challenges/{CHALLENGE}/teams/mine", token=token, ok=(200, 404))
    if mine.status_code == 404:
        created = api.call(
            "POST", f"/challenges/{CHALLENGE}/teams", token=token, json={"name": team.name}
        ).json()
        say(f"team {team.name} created")
    else:
        created = mine.json()
    if created["organiser_affiliated"] != team.affiliated:
        api.call(
            "PATCH",
            f"/teams/{created['id']}",
            token=organiser,
            json={"organiser_affiliated": team.affiliated},
        )
    return TeamAccess(
        name=team.name,
        email=team.email,
        password=team.password,
        token=token,
        team_id=int(created["id"]),
        affiliated=team.affiliated,
    )


def submit_once(api: Api, *, token: str, phase_id: int, tarball: Path) -> tuple[int, bool] | None:
    """Upload ``tarball`` unless the team already entered the phase.

    Returns
    -------
    tuple of (int, bool) or None
        The submission to wait for and whether it is new; ``None`` when the team
        already has a succeeded submission.
    """
    listing = api.call("GET", f"/phases/{phase_id}/submissions", token=token).json()
    entered = [s for s in listing["submissions"] if s["status"] in ENTERED]
    if any(s["status"] == "succeeded" for s in entered):
        return None
    if entered:
        return int(entered[0]["id"]), False  # still in progress from an earlier run
    answer = api.call(
        "POST",
        f"/phases/{phase_id}/submissions",
        token=token,
        content=tarball.read_bytes(),
        headers={"Content-Type": "application/octet-stream"},
    ).json()
    return int(answer["id"]), True


def wait_for(
    api: Api, *, submissions: dict[int, tuple[str, str]], timeout_s: float, say: Say
) -> dict[int, dict[str, Any]]:
    """Poll ``{id: (token, label)}`` until each ends; says each one's end as it comes."""
    deadline = time.monotonic() + timeout_s
    pending = dict(submissions)
    done: dict[int, dict[str, Any]] = {}
    while pending:
        for submission_id, (token, label) in list(pending.items()):
            row = api.call("GET", f"/submissions/{submission_id}", token=token).json()
            if row["status"] in TERMINAL:
                done[submission_id] = row
                del pending[submission_id]
                say(f"{label}: {row['status']} - {row['message'] or row['failure_class']}")
        if pending and time.monotonic() > deadline:
            raise SeedError(f"submissions {sorted(pending)} did not finish in {timeout_s:.0f} s")
        if pending:
            time.sleep(1.0)
    return done
