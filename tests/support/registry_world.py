"""A challenge served over real HTTP next to the session's registry.

The API runs under uvicorn on the registry's realm port, on a committed
PostgreSQL database, so the Docker engine can fetch tokens from it and the
registry can post notifications to it. Two approved teams (``a``, ``b``), an
organiser, and an API token each.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from backend.auth.models import User
from backend.auth.service import issue_token
from backend.challenges.models import Challenge, Phase
from backend.config import Settings
from backend.db import make_session_factory
from backend.enums import Role
from backend.jobs import RecordingJobQueue
from backend.main import create_app
from backend.teams.models import Team
from tests.backend.factories import make_phase, make_team, make_user
from tests.fixtures.registry import REGISTRY_SECRET, RegistryServer
from tests.support.registry import DockerCli
from tests.support.world import World, make_world


@dataclass(frozen=True)
class Person:
    """A user with an API token (and the team slug, for participants)."""

    email: str
    token: str
    team_slug: str | None = None
    team_id: int | None = None


@dataclass
class RegistryWorld:
    """What a registry test talks to."""

    base: str
    registry: RegistryServer
    factory: sessionmaker[Session]
    settings: Settings
    jobs: RecordingJobQueue
    phase_id: int
    challenge: str
    people: dict[str, Person]
    scoring: World | None = None
    clis: list[DockerCli] = field(default_factory=list)

    def api(self, who: str) -> httpx.Client:
        """An HTTP client to the API as ``who`` (``anonymous``: no token)."""
        headers = (
            {} if who == "anonymous" else {"Authorization": f"Bearer {self.people[who].token}"}
        )
        return httpx.Client(base_url=self.base, headers=headers, timeout=120)

    def prefix(self, who: str) -> str:
        """``HOST/<challenge>/<team slug>/`` of a participant."""
        return f"{self.registry.address}/{self.challenge}/{self.people[who].team_slug}/"

    def cli(self, tmp_path: Path) -> DockerCli:
        """A fresh ``docker`` CLI with its own config folder."""
        folder = tmp_path / f"docker-config-{len(self.clis)}"
        folder.mkdir()
        cli = DockerCli(config_dir=folder)
        self.clis.append(cli)
        return cli

    def logged_in(self, tmp_path: Path, who: str) -> DockerCli:
        """A CLI logged in to the registry as ``who``."""
        cli = self.cli(tmp_path)
        person = self.people[who]
        done = cli.login(self.registry.address, person.email, person.token)
        assert done.returncode == 0, done.stderr + done.stdout
        return cli

    def submit(self, who: str, image: str) -> httpx.Response:
        """``POST /phases/{id}/submissions`` with a pushed image reference."""
        with self.api(who) as http:
            return http.post(f"/api/v1/phases/{self.phase_id}/submissions", json={"image": image})


def _person(session: Session, user: User, team: Team | None = None) -> Person:
    _, token = issue_token(session, user=user, name="t", secret_key=REGISTRY_SECRET, ttl_days=1)
    if team is None:
        return Person(user.email, token)
    return Person(user.email, token, team_slug=team.slug, team_id=team.id)


@contextmanager
def registry_world(
    *,
    engine: Engine,
    registry: RegistryServer,
    data_root: Path,
    submission_limit: int = 3,
    scored: bool = False,
    **settings_overrides: object,
) -> Iterator[RegistryWorld]:
    """Build the world, serve the API on the realm port, clean the CLIs' tags afterwards.

    ``scored``: the phase is :func:`tests.support.world.make_world`'s (cases,
    labels, two paradigms), team ``a`` its team, so runs can be scored;
    :attr:`RegistryWorld.scoring` holds that world.
    """
    factory = make_session_factory(engine)
    scoring = None
    with factory() as session:
        people = {}
        if scored:
            scoring = make_world(session, data_root=data_root)
            phase = session.get(Phase, scoring.phase_id)
            assert phase is not None
            phase.submission_limit = submission_limit
            team_a = session.get(Team, scoring.team_id)
            assert team_a is not None
            captain = session.get(User, team_a.captain_id)
            assert captain is not None
            people["a"] = _person(session, captain, team_a)
            challenge_id = team_a.challenge_id
        else:
            phase = make_phase(session, submission_limit=submission_limit)
            challenge_id = phase.task.challenge_id
            user = make_user(session)
            people["a"] = _person(
                session, user, make_team(session, challenge_id=challenge_id, captain=user)
            )
        user = make_user(session)
        people["b"] = _person(
            session, user, make_team(session, challenge_id=challenge_id, captain=user)
        )
        people["organiser"] = _person(session, make_user(session, role=Role.ORGANISER))
        people["outsider"] = _person(session, make_user(session))
        found = session.get(Challenge, challenge_id)
        assert found is not None
        challenge = found.slug
        session.commit()
        phase_id = phase.id
    settings = Settings(
        environment="test",
        secret_key=REGISTRY_SECRET,
        data_root=data_root,
        log_json=False,
        **registry.settings(**settings_overrides),  # type: ignore[arg-type]
    )
    jobs = RecordingJobQueue()
    app = create_app(settings, session_factory=factory, job_queue=jobs, configure_logs=False)
    world = RegistryWorld(
        base="",
        registry=registry,
        factory=factory,
        settings=settings,
        jobs=jobs,
        phase_id=phase_id,
        challenge=challenge,
        people=people,
        scoring=scoring,
    )
    try:
        with registry.serve(app) as base:
            world.base = base
            yield world
    finally:
        for cli in world.clis:
            cli.cleanup()
