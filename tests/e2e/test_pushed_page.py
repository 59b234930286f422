"""The team page's "Submit a pushed image" card in Chromium, against the real registry.

A team pushes with the stock CLI; the card lists the tag with its push time
and digest, and its Submit button pins and queues it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from backend.auth.models import User
from backend.auth.security import hash_password
from backend.submissions.models import Submission
from tests.support.images import shell_image
from tests.support.registry import pushed_digest
from tests.support.registry_world import registry_world

PASSWORD = "correct horse battery staple"

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def world(committing_postgres_url, engine_for, registry_server, tmp_path):
    with registry_world(
        engine=engine_for(committing_postgres_url),
        registry=registry_server,
        data_root=tmp_path / "data",
    ) as built:
        yield built


def test_a_pushed_tag_is_listed_and_submitted_with_a_click(
    page: Any,
    world,
    docker_client,
    tmp_path,
) -> None:
    cli = world.logged_in(tmp_path, "a")
    reference = f"{world.prefix('a')}unet:v3"
    cli.tag(shell_image(docker_client, "echo page"), reference)
    pushed = cli.push(reference)
    assert pushed.returncode == 0, pushed.stderr
    digest = pushed_digest(pushed.stdout)

    # Signed in as the browser is: the session cookie (and its CSRF cookie) from a sign-in.
    email = world.people["a"].email
    with world.factory.begin() as session:
        user = session.scalars(select(User).where(User.email == email)).one()
        user.password_hash = hash_password(PASSWORD)
    signed_in = page.request.post(
        f"{world.base}/api/v1/auth/session",
        data={"email": email, "password": PASSWORD},
        headers={"Origin": world.base},
    )
    assert signed_in.ok, signed_in.text()
    page.goto(f"{world.base}/team.html?challenge={world.challenge}")
    page.wait_for_selector("#pushed-table tbody tr")
    card = page.inner_text("#pushed-images")
    assert f"docker login {world.registry.address} -u {world.people['a'].email}" in card
    assert f"docker push {world.prefix('a')}my-model:v1" in card
    row = page.locator("#pushed-table tbody tr").first
    assert "unet" in row.inner_text()
    assert "v3" in row.inner_text()
    row.get_by_role("button", name="Submit").click()
    page.wait_for_selector("#pushed-message.ok")
    assert digest in page.inner_text("#pushed-message")
    with world.factory() as session:
        (submission,) = session.scalars(select(Submission)).all()
    assert submission.manifest_digest == digest
    assert submission.phase_id == world.phase_id
