"""Submitting a pushed image: resolved, checked, pinned, queued; every bad input refused free.

Real registry, real Docker CLI for pushes, hand-made manifests for shapes the
CLI cannot make here; the API under uvicorn on a committed PostgreSQL database.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.submissions import repository as subs
from backend.submissions.models import QuotaLedgerEntry, Submission
from tests.backend.tarballs import image_config
from tests.support.images import shell_image
from tests.support.registry import delete_tag, push_index, push_manifest, pushed_digest
from tests.support.registry_world import registry_world

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.slow]
GIB = 1024**3


@pytest.fixture
def world(committing_postgres_url, engine_for, registry_server, tmp_path):
    with registry_world(
        engine=engine_for(committing_postgres_url),
        registry=registry_server,
        data_root=tmp_path / "data",
        submission_limit=3,
    ) as built:
        yield built


def _nothing_spent(world, who: str = "a") -> None:
    team_id = world.people[who].team_id
    with world.factory() as session:
        assert subs.slots_in_use(session, team_id=team_id, phase_id=world.phase_id) == 0
        assert not session.scalars(select(Submission).where(Submission.team_id == team_id)).all()
        assert not session.scalars(
            select(QuotaLedgerEntry).where(QuotaLedgerEntry.team_id == team_id)
        ).all()
    assert not world.jobs.sent


def _push(world, cli, image: str, name: str) -> str:
    reference = f"{world.prefix('a')}{name}"
    cli.tag(image, reference)
    done = cli.push(reference)
    assert done.returncode == 0, done.stderr
    return pushed_digest(done.stdout)


def test_a_pushed_image_is_submitted_by_tag_and_by_digest_and_pinned(
    world, docker_client, tmp_path
):
    cli = world.logged_in(tmp_path, "a")
    first = shell_image(docker_client, "echo first")
    digest = _push(world, cli, first, "model:v1")
    config_digest = docker_client.images.get(first).id  # classic store: ID = config digest

    by_tag = world.submit("a", f"{world.prefix('a')}model:v1")
    assert by_tag.status_code == 201, by_tag.text
    body = by_tag.json()
    assert body["image_source"] == "registry"
    assert body["manifest_digest"] == digest
    assert body["image_digest"] == config_digest
    assert body["tarball_sha256"] is None
    assert body["image_tags"] == [f"{world.prefix('a')}model:v1"]
    assert [list(job.args) for job in world.jobs.sent] == [[body["id"]]]

    # A later push to the tag changes nothing for the submission.
    _push(world, cli, shell_image(docker_client, "echo second"), "model:v1")
    by_digest = world.submit("a", f"{world.prefix('a')}model@{digest}")
    assert by_digest.status_code == 201, by_digest.text
    assert by_digest.json()["manifest_digest"] == digest
    with world.factory() as session:
        rows = session.scalars(select(Submission).order_by(Submission.id)).all()
        pinned = f"{world.challenge}/{world.people['a'].team_slug}@{digest}"
        assert [(s.image_reference, s.manifest_digest, s.slot) for s in rows] == [
            (pinned, digest, 1),
            (pinned, digest, 2),
        ]

    # The pinned copy survives the team deleting its tag and the registry's GC.
    delete_tag(
        registry_url=world.registry.url,
        key_dir=world.registry.key_dir,
        repository=f"{world.challenge}/{world.people['a'].team_slug}/model",
        tag="v1",
    )
    world.registry.garbage_collect()
    organiser = world.logged_in(tmp_path, "organiser")
    pulled = organiser.run("pull", f"{world.registry.address}/{pinned}")
    assert pulled.returncode == 0, pulled.stderr
    organiser.tagged.append(f"{world.registry.address}/{pinned}")


def test_the_team_sees_its_registry_prefix_and_its_pushed_tags(world, docker_client, tmp_path):
    with world.api("a") as http:
        info = http.get("/api/v1/registry").json()
    assert info["enabled"] is True
    assert info["address"] == world.registry.address
    assert info["login"] == f"docker login {world.registry.address} -u {world.people['a'].email}"
    assert [n["prefix"] for n in info["namespaces"]] == [world.prefix("a")]
    cli = world.logged_in(tmp_path, "a")
    digest = _push(world, cli, shell_image(docker_client, "echo listed"), "seg:latest")
    _push(world, cli, shell_image(docker_client, "echo listed"), "seg:v2")
    with world.api("a") as http:
        listed = http.get("/api/v1/registry/repositories", params={"challenge": world.challenge})
        assert listed.status_code == 200, listed.text
        other = http.get("/api/v1/registry/repositories", params={"challenge": "nope"})
    assert other.status_code == 404
    (repository,) = listed.json()["repositories"]
    assert repository["repository"] == f"{world.challenge}/{world.people['a'].team_slug}/seg"
    assert sorted(t["tag"] for t in repository["tags"]) == ["latest", "v2"]
    assert all(t["reference"].startswith(world.prefix("a")) for t in repository["tags"])
    # Team b sees none of it.
    with world.api("b") as http:
        theirs = http.get("/api/v1/registry/repositories", params={"challenge": world.challenge})
    assert theirs.json()["repositories"] == []
    assert digest.startswith("sha256:")


def test_bad_references_are_refused_with_their_reason_and_cost_nothing(
    world, docker_client, tmp_path
):
    cli = world.logged_in(tmp_path, "b")
    theirs = f"{world.prefix('b')}model:v1"
    cli.tag(shell_image(docker_client, "echo b"), theirs)
    assert cli.push(theirs).returncode == 0

    cases = [
        (theirs, 403, "outside your team's namespace"),
        (f"{world.prefix('a')}absent:v1", 422, "has no tag 'v1'"),
        (f"other.example.org/{world.challenge}/x/y:v1", 422, "not Podium's registry"),
        (f"{world.prefix('a')}Model:v1", 422, "not a valid repository name"),
        (f"{world.prefix('a')}m@sha256:123", 422, "not a sha256 digest"),
    ]
    for reference, status, words in cases:
        response = world.submit("a", reference)
        assert response.status_code == status, (reference, response.text)
        assert words in response.json()["message"], response.json()["message"]
    with world.api("a") as http:
        url = f"/api/v1/phases/{world.phase_id}/submissions"
        missing = http.post(url, json={"reference": "x"})
        not_json = http.post(url, content=b"{", headers={"Content-Type": "application/json"})
    assert missing.status_code == 422
    assert '{"image":' in missing.json()["message"]
    assert not_json.status_code == 422
    _nothing_spent(world)


def test_unacceptable_pushed_images_are_refused_before_a_slot_is_spent(world):
    repository = f"{world.challenge}/{world.people['a'].team_slug}/crafted"
    common = {"registry_url": world.registry.url, "key_dir": world.registry.key_dir}
    arm, arm_size = push_manifest(
        **common, repository=repository, tag="arm", config=image_config(architecture="arm64")
    )
    win, win_size = push_manifest(
        **common, repository=repository, tag="win", config=image_config(os="windows")
    )
    push_index(
        **common,
        repository=repository,
        tag="multi",
        entries=[(arm, arm_size, "linux", "arm64"), (win, win_size, "windows", "amd64")],
    )
    push_manifest(**common, repository=repository, tag="root", config=image_config(user=""))
    push_manifest(
        **common,
        repository=repository,
        tag="huge",
        config=image_config(),
        declared_layer_sizes=[40 * GIB],
    )
    prefix = f"{world.registry.address}/{repository}"
    cases = [
        ("multi", 422, "without linux/amd64 (it has linux/arm64, windows/amd64)"),
        ("arm", 422, "the image is linux/arm64; we run linux/amd64"),
        ("root", 422, "the image runs as root"),
        ("huge", 413, "over this phase's limit of 30.0 GiB"),
    ]
    for tag, status, words in cases:
        response = world.submit("a", f"{prefix}:{tag}")
        assert response.status_code == status, (tag, response.text)
        assert words in response.json()["message"], response.json()["message"]
    _nothing_spent(world)

    # A list that does have linux/amd64: its amd64 manifest is what gets pinned.
    good, good_size = push_manifest(
        **common, repository=repository, tag="good", config=image_config()
    )
    push_index(
        **common,
        repository=repository,
        tag="multi",
        entries=[(arm, arm_size, "linux", "arm64"), (good, good_size, "linux", "amd64")],
    )
    accepted = world.submit("a", f"{prefix}:multi")
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["manifest_digest"] == good


def test_the_registry_down_at_submission_is_a_503_and_costs_nothing(world, docker_client, tmp_path):
    cli = world.logged_in(tmp_path, "a")
    _push(world, cli, shell_image(docker_client, "echo down"), "model:v1")
    with world.registry.down():
        response = world.submit("a", f"{world.prefix('a')}model:v1")
    assert response.status_code == 503, response.text
    assert "registry is not answering" in response.json()["message"]
    assert "nothing was spent" in response.json()["message"]
    _nothing_spent(world)
    again = world.submit("a", f"{world.prefix('a')}model:v1")
    assert again.status_code == 201, again.text
