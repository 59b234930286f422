"""The stock ``docker`` CLI against the real registry, with Podium as its token server.

Real ``docker-registry`` (distribution 2.8), the real Docker engine and CLI,
the API under uvicorn on a committed PostgreSQL database.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from backend.audit.models import AuditEvent
from backend.registry.models import RegistryEvent
from tests.support.images import shell_image
from tests.support.registry import pushed_digest
from tests.support.registry_world import registry_world

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def world(committing_postgres_url, engine_for, registry_server, tmp_path):
    with registry_world(
        engine=engine_for(committing_postgres_url),
        registry=registry_server,
        data_root=tmp_path / "data",
    ) as built:
        yield built


def _wait_for_events(world, repository: str, timeout: float = 20) -> list[RegistryEvent]:
    deadline = time.monotonic() + timeout
    while True:
        with world.factory() as session:
            events = list(
                session.scalars(select(RegistryEvent).where(RegistryEvent.repository == repository))
            )
        if events or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def test_login_push_and_refusals_with_the_stock_cli(world, docker_client, tmp_path):
    image = shell_image(docker_client, "echo registry-test")
    address = world.registry.address

    wrong = world.cli(tmp_path).login(address, world.people["a"].email, "not-a-token")
    assert wrong.returncode != 0
    assert "API token is not valid" in wrong.stderr, wrong.stderr
    mismatched = world.cli(tmp_path).login(
        address, world.people["b"].email, world.people["a"].token
    )
    assert mismatched.returncode != 0
    assert "belongs to another account" in mismatched.stderr, mismatched.stderr

    cli = world.logged_in(tmp_path, "a")
    mine = f"{world.prefix('a')}model:v1"
    cli.tag(image, mine)
    pushed = cli.push(mine)
    assert pushed.returncode == 0, pushed.stderr
    digest = pushed_digest(pushed.stdout)

    # Into another team's namespace: the registry denies it and the CLI shows why.
    theirs = f"{world.prefix('b')}model:v1"
    cli.tag(image, theirs)
    denied = cli.push(theirs)
    assert denied.returncode != 0
    assert "denied" in denied.stderr
    assert "is not your team's" in denied.stderr, denied.stderr
    # Podium's own repository of submitted images: nobody else writes it.
    pinned = f"{address}/{world.challenge}/{world.people['a'].team_slug}:x"
    cli.tag(image, pinned)
    denied = cli.push(pinned)
    assert denied.returncode != 0
    assert "only Podium writes it" in denied.stderr, denied.stderr

    # Team b can neither pull team a's image; an organiser can.
    other = world.logged_in(tmp_path, "b")
    refused = other.run("pull", mine)
    assert refused.returncode != 0
    assert "is not your team's" in refused.stderr, refused.stderr
    organiser = world.logged_in(tmp_path, "organiser")
    pulled = organiser.run("pull", f"{world.prefix('a')}model@{digest}")
    assert pulled.returncode == 0, pulled.stderr
    organiser.tagged.append(f"{world.prefix('a')}model@{digest}")

    # The push was notified, recorded once and audited; the refusals are audited with reasons.
    events = _wait_for_events(world, f"{world.challenge}/{world.people['a'].team_slug}/model")
    assert [(e.action, e.tag, e.digest) for e in events] == [("push", "v1", digest)]
    assert events[0].actor == world.people["a"].email
    assert events[0].team_id == world.people["a"].team_id
    with world.factory() as session:
        actions = [e.action for e in session.scalars(select(AuditEvent))]
        reasons = [
            r["reason"]
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.action == "registry.scope_refused")
            )
            for r in e.after["refused"]
        ]
    assert "registry.push" in actions
    assert any("is not your team's" in r for r in reasons)
