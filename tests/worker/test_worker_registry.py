"""Pushed images through the worker: pulled by pinned digest, cached, scored.

Real registry, real Docker CLI and engine, the API under uvicorn and the
worker on one committed PostgreSQL database. Written against the
``docker_client`` fixture so the same tests can run on another engine.
"""

from __future__ import annotations

import io
import random
import re
import tarfile
import time
import uuid

import docker.errors
import pytest
from sqlalchemy import select

from backend.challenges.models import Phase
from backend.db import make_session_factory
from backend.enums import SubmissionStatus
from backend.registry.client import RegistryClient
from backend.registry.keys import load_signing_key
from backend.storage import FilesystemStorage
from backend.submissions import repository as subs
from backend.submissions.models import CaseScore, Evaluation, Submission
from tests.fixtures.registry import REGISTRY_SECRET
from tests.support.images import build_image, shell_image
from tests.support.proxy import proxy
from tests.support.registry import delete_tag, pushed_digest
from tests.support.registry_world import registry_world
from worker.config import WorkerSettings
from worker.context import WorkerContext
from worker.evaluation import evaluate
from worker.image_cache import CacheIndex
from worker.images import image_store
from worker.runner.base import MIB
from worker.runner.docker import DockerRunner

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.slow]

COPY_INPUTS = 'for f in /input/*; do cp "$f" /output/; done; echo copied'


@pytest.fixture
def setup(committing_postgres_url, engine_for, registry_server, docker_client, tmp_path):
    """``(world, make_context)``: the served world and worker contexts on its database."""
    engine = engine_for(committing_postgres_url)
    contexts = []

    def make_context(**overrides):
        settings = WorkerSettings(
            database_url=committing_postgres_url,
            secret_key=REGISTRY_SECRET,
            data_root=tmp_path / "data",
            work_dir=tmp_path / f"work-{len(contexts)}",
            max_attempts=2,
            retry_backoff_s=0,
            output_bytes=16 * MIB,
            tmp_bytes=4 * MIB,
            run_cpus=1.0,
            run_pids=64,
            container_prefix=f"podium-t{uuid.uuid4().hex[:8]}",
            **{**registry_server.settings(), **overrides},
        )
        context = WorkerContext(
            session_factory=make_session_factory(engine),
            storage=FilesystemStorage(settings.data_root),
            runner=DockerRunner(client_factory=lambda: docker_client),
            settings=settings,
        )
        contexts.append(context)
        return context

    with registry_world(
        engine=engine, registry=registry_server, data_root=tmp_path / "data", scored=True
    ) as world:
        yield world, make_context
    for context in contexts:  # images this test's workers pulled
        image_store(context).clear()


def _push(world, cli, image: str, name: str) -> str:
    reference = f"{world.prefix('a')}{name}"
    cli.tag(image, reference)
    done = cli.push(reference)
    assert done.returncode == 0, done.stderr
    return pushed_digest(done.stdout)


def _submit(world, reference: str) -> int:
    response = world.submit("a", reference)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


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


def test_a_pushed_image_is_pulled_by_digest_cached_and_scored(setup, docker_client, tmp_path):
    world, make_context = setup
    context = make_context()
    cli = world.logged_in(tmp_path, "a")
    digest = _push(world, cli, shell_image(docker_client, COPY_INPUTS), "model:v1")
    by_tag = _submit(world, f"{world.prefix('a')}model:v1")
    by_digest = _submit(world, f"{world.prefix('a')}model@{digest}")

    # The team deletes its tag and the registry collects garbage: the pinned copy remains.
    delete_tag(
        registry_url=world.registry.url,
        key_dir=world.registry.key_dir,
        repository=f"{world.challenge}/{world.people['a'].team_slug}/model",
        tag="v1",
    )
    world.registry.garbage_collect()

    assert evaluate(by_tag, context=context).status == "succeeded"
    scores = _scores(context, by_tag)
    for key in world.scoring.case_keys:
        assert scores[(world.scoring.case_pks[key], "visible")]["dice"] == 1.0
    pinned = f"{world.registry.address}/{world.challenge}/{world.people['a'].team_slug}@{digest}"
    assert pinned in docker_client.api.inspect_image(pinned)["RepoDigests"]
    (entry,) = CacheIndex(context.settings.scratch_dir / "image-cache").snapshot().values()
    assert (entry.key, entry.engine_ref, entry.source) == (digest, pinned, "registry")
    used = entry.last_used

    # The same digest again: served from the cache, scored identically.
    assert evaluate(by_digest, context=context).status == "succeeded"
    assert _scores(context, by_digest).keys() == scores.keys()
    (again,) = CacheIndex(context.settings.scratch_dir / "image-cache").snapshot().values()
    assert again.last_used > used


def test_the_registry_down_at_pull_time_is_retried_then_refunded(setup, docker_client, tmp_path):
    world, make_context = setup
    context = make_context()
    cli = world.logged_in(tmp_path, "a")
    _push(world, cli, shell_image(docker_client, COPY_INPUTS + "; echo down"), "model:v1")
    sid = _submit(world, f"{world.prefix('a')}model:v1")
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
    setup, docker_client, tmp_path
):
    world, make_context = setup
    context = make_context(image_cache_bytes=1)  # a budget nothing fits in
    cli = world.logged_in(tmp_path, "a")
    first = _push(world, cli, shell_image(docker_client, COPY_INPUTS + "; echo one"), "m:one")
    second = _push(world, cli, shell_image(docker_client, COPY_INPUTS + "; echo two"), "m:two")
    one_a = _submit(world, f"{world.prefix('a')}m:one")
    one_b = _submit(world, f"{world.prefix('a')}m:one")
    two = _submit(world, f"{world.prefix('a')}m:two")
    store = image_store(context)
    pinned = f"{world.registry.address}/{world.challenge}/{world.people['a'].team_slug}"

    assert evaluate(one_a, context=context).status == "succeeded"
    # one_b (same image) and two are still queued here: nothing is evicted.
    assert set(store.index.snapshot()) == {first}
    assert evaluate(two, context=context).status == "succeeded"
    # The second image is queued nowhere any more and over budget: it goes, the first stays.
    assert set(store.index.snapshot()) == {first}
    assert docker_client.api.inspect_image(f"{pinned}@{first}")
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.api.inspect_image(f"{pinned}@{second}")
    assert evaluate(one_b, context=context).status == "succeeded"
    assert store.index.snapshot() == {}
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.api.inspect_image(f"{pinned}@{first}")


def test_a_slow_pull_is_not_cut_while_it_progresses(setup, docker_client, tmp_path):
    world, make_context = setup
    # 3 MiB that do not compress, imported under a name of this test's own, then
    # removed from the engine so that the worker's pull really downloads them.
    payload = random.Random(11).randbytes(3 * MIB)
    local = build_image(
        docker_client,
        files={"/weights.bin": payload, "/run.sh": COPY_INPUTS},
        entrypoint=["/bin/sh", "/run.sh"],
    )
    cli = world.logged_in(tmp_path, "a")
    digest = _push(world, cli, local, "slow:v1")
    sid = _submit(world, f"{world.prefix('a')}slow:v1")
    cli.cleanup()  # our tags go; the image stays only under the shared test name
    docker_client.api.remove_image(local, noprune=False)
    with proxy(("127.0.0.1", world.registry.port), rate=700 * 1024) as slow:
        # ~6 s of transfer against a stall limit of 1.5 s: progress keeps it going.
        context = make_context(registry_pull_host=slow.address, image_stall_timeout_s=1.5)
        started = time.monotonic()
        assert evaluate(sid, context=context).status == "succeeded"
        assert time.monotonic() - started > 3 * 1.5
        pulled = f"{slow.address}/{world.challenge}/{world.people['a'].team_slug}@{digest}"
        assert pulled in docker_client.api.inspect_image(pulled)["RepoDigests"]


@pytest.mark.parametrize(
    ("script", "kind"),
    [
        ("head -c 300m /dev/zero | tail; echo survived", "out_of_memory"),
        (
            "ln -s /etc/passwd /output/case_000.nii.gz; ln -s /etc/shadow /output/case_001.nii.gz",
            "no_outputs",
        ),
        ("echo start; sleep 60", "timeout"),
    ],
)
def test_hostile_images_fail_the_same_way_when_pushed(setup, docker_client, tmp_path, script, kind):
    world, make_context = setup
    context = make_context()
    with context.session_factory.begin() as session:
        session.get(Phase, world.phase_id).time_limit_s = 3
    cli = world.logged_in(tmp_path, "a")
    _push(world, cli, shell_image(docker_client, script), "hostile:v1")
    sid = _submit(world, f"{world.prefix('a')}hostile:v1")
    assert evaluate(sid, context=context).status == "failed"
    submission = _row(context, sid)
    assert submission.failure_class == kind, submission.message
    assert submission.status == SubmissionStatus.FAILED
    assert submission.slot is not None


def _blobs_fetched(registry, since: int) -> set[str]:
    """Blob digests the registry served after byte ``since`` of its log."""
    with registry.log_path.open("rb") as log:
        log.seek(since)
        text = log.read().decode(errors="replace")
    return set(re.findall(r'"GET /v2/\S+/blobs/(sha256:[0-9a-f]{64}) HTTP/1\.1" 200', text))


def test_a_teams_next_image_reuses_the_layers_it_shares(setup, docker_client, tmp_path):
    world, make_context = setup
    context = make_context()
    base = shell_image(docker_client, COPY_INPUTS + "; echo layered")
    container = docker_client.containers.create(base)
    note = io.BytesIO()
    with tarfile.open(fileobj=note, mode="w") as tar:
        info = tarfile.TarInfo("note.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"v2"))
    container.put_archive("/", note.getvalue())
    following = container.commit(repository="podium-registry-test/next", tag=uuid.uuid4().hex[:12])
    container.remove()
    cli = world.logged_in(tmp_path, "a")
    first = _push(world, cli, base, "seg:v1")
    _push(world, cli, following.id, "seg:v2")
    v1 = _submit(world, f"{world.prefix('a')}seg:v1")
    v2 = _submit(world, f"{world.prefix('a')}seg:v2")
    cli.cleanup()
    docker_client.api.remove_image(following.id, force=True)
    docker_client.api.remove_image(base)  # the worker's pulls start from nothing
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

    assert evaluate(v1, context=context).status == "succeeded"
    offset = world.registry.log_path.stat().st_size
    assert evaluate(v2, context=context).status == "succeeded"
    fetched = _blobs_fetched(world.registry, offset)
    assert shared not in fetched  # the layer v1 brought is not downloaded again
    assert len(fetched) == 2  # v2's config and its one new layer
