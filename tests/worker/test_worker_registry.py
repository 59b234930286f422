"""Pushed images through the worker: pulled by pinned digest, cached, scored.

Real registry, real Docker CLI and engine, the API under uvicorn and the
worker on one committed PostgreSQL database. The team builds and pushes with
the host's engine (``host_docker``); the worker pulls and runs on
``docker_client``, each test once per image store (tests/support/engines.py):
the classic overlay2 store and the containerd store, where an image's ID is its
manifest digest.
"""

from __future__ import annotations

import io
import random
import tarfile
import time
import uuid

import docker.errors
import pytest
from sqlalchemy import select

from backend.challenges.models import Phase
from backend.enums import SubmissionStatus
from backend.registry.client import RegistryClient
from backend.registry.keys import load_signing_key
from backend.submissions import repository as subs
from backend.submissions.models import CaseScore, Evaluation, Submission
from tests.support.engines import ENGINE_NAMES, engine_client
from tests.support.images import build_image, shell_image
from tests.support.proxy import proxy
from tests.support.redeliver import redelivered
from tests.support.registry import delete_tag
from tests.support.registry_world import blobs_fetched
from worker.evaluation import evaluate
from worker.image_cache import CacheIndex
from worker.images import image_store
from worker.runner.base import MIB

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.slow]

COPY_INPUTS = 'for f in /input/*; do cp "$f" /output/; done; echo copied'


@pytest.fixture(params=ENGINE_NAMES)
def docker_client(request):
    """The worker's engine: every test here runs on both image stores."""
    return engine_client(request)


def _row(context, sid) -> Submission:
    with context.session_factory() as session:
        return session.get(Submission, sid)


def _scores(context, sid) -> dict[tuple[int, str], dict]:
    with context.session_factory() as session:
        evaluations = session.scalars(select(Evaluation).where(Evaluation.submission_id == sid))
        return {
            (s.case_id, s.paradigm): s.result
            for e in evaluations
            for s in session.scalars(select(CaseScore).where(CaseScore.evaluation_id == e.id))
        }


def test_a_pushed_image_is_pulled_by_digest_cached_and_scored(
    registry_setup, host_docker, docker_client, tmp_path
):
    world, make_context = registry_setup
    context = make_context()
    cli = world.logged_in(tmp_path, "a")
    digest = world.push(cli, shell_image(host_docker, COPY_INPUTS), "model:v1")
    by_tag = world.submitted(f"{world.prefix('a')}model:v1")
    by_digest = world.submitted(f"{world.prefix('a')}model@{digest}")

    # The team deletes its tag and the registry collects garbage: the pinned copy remains.
    delete_tag(
        registry_url=world.registry.url,
        key_dir=world.registry.key_dir,
        repository=f"{world.challenge}/{world.people['a'].team_slug}/model",
        tag="v1",
    )
    world.registry.garbage_collect()

    assert redelivered(by_tag, context).status == "succeeded"
    scores = _scores(context, by_tag)
    for key in world.scoring.case_keys:
        assert scores[(world.scoring.case_pks[key], "visible")]["dice"] == 1.0
    pinned = f"{world.registry.address}/{world.challenge}/{world.people['a'].team_slug}@{digest}"
    assert pinned in docker_client.api.inspect_image(pinned)["RepoDigests"]
    (entry,) = CacheIndex(context.settings.scratch_dir / "image-cache").snapshot().values()
    assert (entry.key, entry.engine_ref, entry.source) == (digest, pinned, "registry")
    used = entry.last_used

    # The same digest again: served from the cache, scored identically.
    assert redelivered(by_digest, context).status == "succeeded"
    assert _scores(context, by_digest).keys() == scores.keys()
    (again,) = CacheIndex(context.settings.scratch_dir / "image-cache").snapshot().values()
    assert again.last_used > used


def test_the_registry_down_at_pull_time_is_retried_then_refunded(
    registry_setup, host_docker, docker_client, tmp_path
):
    world, make_context = registry_setup
    context = make_context()
    cli = world.logged_in(tmp_path, "a")
    world.push(cli, shell_image(host_docker, COPY_INPUTS + "; echo down"), "model:v1")
    sid = world.submitted(f"{world.prefix('a')}model:v1")
    with world.registry.down():
        first = evaluate(sid, context=context)
        assert first.status == "queued"
        assert first.retry_in is not None
        assert _row(context, sid).failure_class == "infrastructure"
        second = evaluate(sid, context=context)  # max_attempts=2
    assert second.status == "error"
    submission = _row(context, sid)
    assert submission.slot is None
    assert "not charged to you" in submission.message
    with context.session_factory() as session:
        ledger = subs.quota_ledger(
            session, team_id=world.people["a"].team_id, phase_id=world.phase_id
        )
        assert [e.change for e in ledger] == [-1, 1]


def test_the_cache_keeps_queued_images_and_evicts_least_recently_used(
    registry_setup, host_docker, docker_client, tmp_path
):
    world, make_context = registry_setup
    context = make_context(image_cache_bytes=1)  # a budget nothing fits in
    cli = world.logged_in(tmp_path, "a")
    first = world.push(cli, shell_image(host_docker, COPY_INPUTS + "; echo one"), "m:one")
    second = world.push(cli, shell_image(host_docker, COPY_INPUTS + "; echo two"), "m:two")
    one_a = world.submitted(f"{world.prefix('a')}m:one")
    one_b = world.submitted(f"{world.prefix('a')}m:one")
    two = world.submitted(f"{world.prefix('a')}m:two")
    store = image_store(context)
    pinned = f"{world.registry.address}/{world.challenge}/{world.people['a'].team_slug}"

    assert redelivered(one_a, context).status == "succeeded"
    # one_b (same image) and two are still queued here: nothing is evicted.
    assert set(store.index.snapshot()) == {first}
    assert redelivered(two, context).status == "succeeded"
    # The second image is queued nowhere any more and over budget: it goes, the first stays.
    assert set(store.index.snapshot()) == {first}
    assert docker_client.api.inspect_image(f"{pinned}@{first}")
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.api.inspect_image(f"{pinned}@{second}")
    assert redelivered(one_b, context).status == "succeeded"
    assert store.index.snapshot() == {}
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.api.inspect_image(f"{pinned}@{first}")


def test_a_stalled_pull_is_cut_and_a_slow_one_is_not(
    registry_setup, host_docker, docker_client, tmp_path
):
    world, make_context = registry_setup
    # 10 MiB that do not compress, imported under a name of this test's own, then
    # removed from the engine so that the worker's pull really downloads them.
    payload = random.Random(11).randbytes(10 * MIB)
    local = build_image(
        host_docker,
        files={"/weights.bin": payload, "/run.sh": COPY_INPUTS},
        entrypoint=["/bin/sh", "/run.sh"],
    )
    cli = world.logged_in(tmp_path, "a")
    digest = world.push(cli, local, "slow:v1")
    sid = world.submitted(f"{world.prefix('a')}slow:v1")
    cli.cleanup()  # our tags go; the image stays only under the shared test name
    host_docker.api.remove_image(local, noprune=False)
    stall_s = 1.5
    target = ("127.0.0.1", world.registry.port)
    with proxy(target, rate=2 * MIB, stall_after=3 * MIB) as slow:
        context = make_context(registry_pull_host=slow.address, image_stall_timeout_s=stall_s)
        # The registry stops sending after 3 MiB: the pull is cut (ours, retried), although
        # the containerd store keeps repeating its last progress line meanwhile.
        started = time.monotonic()
        first = evaluate(sid, context=context)
        assert (first.status, _row(context, sid).failure_class) == ("queued", "infrastructure")
        assert time.monotonic() - started < 3 * MIB / (2 * MIB) + stall_s + 8
        # Slow but moving: not cut, although it lasts several times the stall limit.
        slow.stall_after, slow.stalled = None, False
        started = time.monotonic()
        assert redelivered(sid, context).status == "succeeded"
        assert time.monotonic() - started > 2 * stall_s
        pulled = f"{slow.address}/{world.challenge}/{world.people['a'].team_slug}@{digest}"
        assert pulled in docker_client.api.inspect_image(pulled)["RepoDigests"]


@pytest.mark.parametrize(
    ("script", "kind", "time_limit_s"),
    [
        # A limit far above what it needs: a busy machine must not turn it into a timeout.
        ("head -c 300m /dev/zero | tail; echo survived", "out_of_memory", 60),
        (
            "ln -s /etc/passwd /output/case_000.nii.gz; ln -s /etc/shadow /output/case_001.nii.gz",
            "no_outputs",
            60,
        ),
        ("echo start; sleep 60", "timeout", 3),
    ],
    ids=["memory", "symlinks", "timeout"],
)
def test_hostile_images_fail_the_same_way_when_pushed(
    registry_setup, host_docker, docker_client, tmp_path, script, kind, time_limit_s
):
    world, make_context = registry_setup
    context = make_context()
    with context.session_factory.begin() as session:
        session.get(Phase, world.phase_id).time_limit_s = time_limit_s
    cli = world.logged_in(tmp_path, "a")
    world.push(cli, shell_image(host_docker, script), "hostile:v1")
    sid = world.submitted(f"{world.prefix('a')}hostile:v1")
    assert evaluate(sid, context=context).status == "failed"
    submission = _row(context, sid)
    assert submission.failure_class == kind, submission.message
    assert submission.status == SubmissionStatus.FAILED
    assert submission.slot is not None


def test_a_teams_next_image_reuses_the_layers_it_shares(
    registry_setup, host_docker, docker_client, tmp_path
):
    world, make_context = registry_setup
    context = make_context()
    base = shell_image(host_docker, COPY_INPUTS + "; echo layered")
    container = host_docker.containers.create(base)
    note = io.BytesIO()
    with tarfile.open(fileobj=note, mode="w") as tar:
        info = tarfile.TarInfo("note.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"v2"))
    container.put_archive("/", note.getvalue())
    following = container.commit(repository="podium-registry-test/next", tag=uuid.uuid4().hex[:12])
    container.remove()
    cli = world.logged_in(tmp_path, "a")
    first = world.push(cli, base, "seg:v1")
    world.push(cli, following.id, "seg:v2")
    v1 = world.submitted(f"{world.prefix('a')}seg:v1")
    v2 = world.submitted(f"{world.prefix('a')}seg:v2")
    cli.cleanup()
    host_docker.api.remove_image(following.id, force=True)
    host_docker.api.remove_image(base)  # the worker's pulls start from nothing
    with RegistryClient(
        base_url=world.registry.url,
        key=load_signing_key(world.registry.key_dir),
        issuer="podium",
        service="podium-registry",
    ) as registry:
        manifest = registry.get_manifest(
            f"{world.challenge}/{world.people['a'].team_slug}/seg", first
        )
    (shared,) = [layer["digest"] for layer in manifest.body["layers"]]

    assert redelivered(v1, context).status == "succeeded"
    offset = world.registry.log_path.stat().st_size
    assert redelivered(v2, context).status == "succeeded"
    fetched = blobs_fetched(world.registry, offset)
    assert shared not in fetched  # the layer v1 brought is not downloaded again
    assert len(fetched) == 2  # v2's config and its one new layer
