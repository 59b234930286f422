"""No idle GPU between runs: the next queued run is readied while one goes on.

Real registry, engine (both image stores for the main test) and PostgreSQL;
the team pushes with the host's engine, the worker pulls on ``docker_client``.
"""

from __future__ import annotations

import shutil
import time
import uuid

import docker.errors
import pytest
from celery import Celery
from structlog.testing import capture_logs

from backend.enums import SubmissionStatus
from backend.jobs import EVALUATE_SUBMISSION
from backend.submissions import repository as subs
from backend.submissions.images import image_to_run
from backend.submissions.lifecycle import FINISHED
from backend.submissions.models import Submission
from tests.support.celery_worker import CeleryWorker
from tests.support.engines import ENGINE_NAMES, engine_client
from tests.support.images import build_image, shell_image
from tests.support.redeliver import redelivered, retries
from tests.support.registry_world import blobs_fetched
from tests.support.worker import dispose, make_context, worker_env
from tests.support.world import make_world
from worker.images import image_store
from worker.input_cache import worker_input_cache
from worker.plan import phase_work
from worker.prefetch import prefetcher

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.slow]

COPY_INPUTS = 'for f in /input/*; do cp "$f" /output/; done; echo copied'


@pytest.fixture(params=ENGINE_NAMES)
def docker_client(request):
    """The worker's engine (both image stores where a test asks for it)."""
    return engine_client(request)


def _row(context, sid: int) -> Submission:
    with context.session_factory() as session:
        found = session.get(Submission, sid)
        assert found is not None
        return found


def _input_keys(context, world) -> set[str]:
    with context.session_factory() as session:
        work = phase_work(session, world.phase_id)
        return {k for case in (*work.cases, *work.sample_cases) for k in case.input_keys}


def _two_queued(world, cli, host_docker, *, first_script: str = COPY_INPUTS) -> tuple:
    """Two pushed images, each submitted once: ``(first id, second id, second digest)``."""
    world.push(cli, shell_image(host_docker, first_script), "m:first")
    second = world.push(cli, shell_image(host_docker, COPY_INPUTS + "; echo 2nd"), "m:second")
    return (
        world.submitted(f"{world.prefix('a')}m:first"),
        world.submitted(f"{world.prefix('a')}m:second"),
        second,
    )


def test_the_next_run_finds_its_image_pulled_and_its_inputs_local(
    registry_setup, host_docker, docker_client, tmp_path
):
    world, make_context = registry_setup
    context = make_context(prefetch=True)
    first, second, digest = _two_queued(world, world.logged_in(tmp_path, "a"), host_docker)

    assert redelivered(first, context).status == "succeeded"
    assert prefetcher(context).join(timeout=120)
    # While the first ran: the second's image pulled by its pinned digest, and cached ...
    entry = image_store(context).index.snapshot()[digest]
    assert (entry.engine_ref, entry.source) == (world.pinned(digest), "registry")
    assert world.pinned(digest) in docker_client.api.inspect_image(entry.engine_ref)["RepoDigests"]
    # ... its phase's inputs copied locally; its row untouched.
    cache = worker_input_cache(context.settings)
    keys = _input_keys(context, world)
    assert keys
    assert all(cache.path(k).is_file() for k in keys)
    row = _row(context, second)
    assert (row.status.value, row.attempt, row.message) == ("queued", 0, "")

    # The second run fetches nothing: no blob from the registry, no input from storage.
    for key in keys:
        (context.settings.data_root / key).unlink()
    offset = world.registry.log_path.stat().st_size
    assert redelivered(second, context).status == "succeeded"
    assert blobs_fetched(world.registry, offset) == set()
    assert _row(context, second).message == "Scored 2 of 2 cases."


@pytest.mark.parametrize("docker_client", ["classic"], indirect=True)
def test_a_failed_prefetch_costs_the_next_submission_nothing(
    registry_setup, host_docker, docker_client, tmp_path
):
    world, make_context = registry_setup
    context = make_context(prefetch=True)
    first, second, _ = _two_queued(world, world.logged_in(tmp_path, "a"), host_docker)
    store = image_store(context)
    with context.session_factory() as session:
        image = image_to_run(session.get(Submission, first))
    store.acquire(image, workdir=tmp_path)

    # The first run's image is cached; the registry is down while it runs.
    with world.registry.down(), capture_logs() as logs:
        assert redelivered(first, context).status == "succeeded"
        assert prefetcher(context).join(timeout=120)
    failed = [e for e in logs if e["event"] == "prefetch.failed"]
    assert [e["submission"] for e in failed] == [second]
    row = _row(context, second)
    assert (row.status.value, row.attempt, row.failure_class or "", row.message) == (
        "queued",
        0,
        "",
        "",
    )

    # Its own run takes the usual path: pulled then, scored, charged once as usual.
    assert redelivered(second, context).status == "succeeded"
    row = _row(context, second)
    # One attempt, plus one per engine hiccup retried as ours on the way (audited as such);
    # the failed prefetch itself took none.
    assert (row.attempt, row.failure_class or "") == (1 + retries(context, second), "")
    with context.session_factory() as session:
        ledger = subs.quota_ledger(
            session, team_id=world.people["a"].team_id, phase_id=world.phase_id
        )
        assert [e.change for e in ledger] == [-1, -1]


@pytest.mark.parametrize("docker_client", ["classic"], indirect=True)
def test_a_prefetch_keeps_to_the_budget_and_never_evicts_the_running_image(
    registry_setup, host_docker, docker_client, tmp_path
):
    world, make_context = registry_setup
    # A budget nothing fits in: the running image stays (it is running), the next one
    # is not brought in (it would not fit beside it).
    context = make_context(prefetch=True, image_cache_bytes=1)
    first, _, digest = _two_queued(
        world, world.logged_in(tmp_path, "a"), host_docker, first_script=COPY_INPUTS + "; sleep 2"
    )
    with capture_logs() as logs:
        assert redelivered(first, context).status == "succeeded"
        assert prefetcher(context).join(timeout=120)
    events = [e["event"] for e in logs]
    first_key = _row(context, first).manifest_digest
    skipped = events.index("images.prefetch_over_budget")
    evictions = [i for i, e in enumerate(logs) if first_key in e.get("keys", [])]
    assert evictions
    assert min(evictions) > skipped  # evicted after its run, not during it
    assert "prefetch.ready" in events  # the inputs were still readied
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.api.inspect_image(world.pinned(digest))


@pytest.mark.parametrize("docker_client", ["classic"], indirect=True)
def test_without_prefetch_nothing_is_readied(registry_setup, host_docker, tmp_path):
    world, make_context = registry_setup
    context = make_context()  # PODIUM_PREFETCH=false
    first, _, digest = _two_queued(world, world.logged_in(tmp_path, "a"), host_docker)
    assert redelivered(first, context).status == "succeeded"
    assert prefetcher(context).join(timeout=5)
    assert digest not in image_store(context).index.snapshot()
    folder = worker_input_cache(context.settings).folder
    assert not folder.exists() or not any(folder.iterdir())
    shutil.rmtree(folder, ignore_errors=True)


def _wait_succeeded(context, sid: int, timeout: float = 120) -> Submission:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = _row(context, sid)
        if row.status == SubmissionStatus.SUCCEEDED:
            return row
        assert row.status not in FINISHED, row.message
        time.sleep(0.2)
    raise AssertionError(f"submission {sid} stayed {row.status}")


@pytest.mark.redis
@pytest.mark.parametrize("docker_client", ["classic"], indirect=True)
def test_a_celery_worker_readies_its_next_run_in_its_pool_process(
    committing_postgres_url, docker_client, redis_url, tmp_path
):
    # Uploaded tarballs this time, of images the engine does not hold: each must be loaded.
    context = make_context(
        database_url=committing_postgres_url,
        data_root=tmp_path / "data",
        work_dir=tmp_path / "work",
        docker_client=docker_client,
        prefetch=True,
    )
    images = [
        build_image(
            docker_client,
            files={"/marker": f"{n}-{uuid.uuid4().hex}"},
            entrypoint=["/bin/sh", "-c", f"{COPY_INPUTS}; sleep {n}"],
        )
        for n in (2, 0)
    ]
    with context.session_factory.begin() as session:
        world = make_world(session, data_root=context.settings.data_root, samples=0)
        ids = [world.add_submission(session, docker_client=docker_client, image=i) for i in images]
    for image in images:
        docker_client.images.remove(image)
    queue = f"gpu-prefetch-{uuid.uuid4().hex[:6]}"
    worker = CeleryWorker(
        name=queue,
        queue=queue,
        env=worker_env(context, broker_url=redis_url),
        log=tmp_path / "worker.log",
    )
    sender = Celery("podium-test-sender", broker=redis_url)
    try:
        worker.wait_ready()
        for sid in ids:
            sender.send_task(EVALUATE_SUBMISSION, args=[sid], queue=queue)
        for sid in ids:
            _wait_succeeded(context, sid)
        records = worker.records()
    finally:
        worker.stop()
        sender.close()
        image_store(context).clear()
        dispose(context)
    second = _row(context, ids[1]).image_digest
    ready = [r for r in records if r.get("event") == "prefetch.ready"]
    assert [(r["submission"], r["image"], r["image_brought"]) for r in ready] == [
        (ids[1], second, True)
    ]
    started = next(
        i for i, r in enumerate(records)
        if r.get("event") == "evaluation.started" and r.get("submission") == ids[1]
    )  # fmt: skip
    assert records.index(ready[0]) < started
    # The second run's image came from the cache, loaded while the first ran.
    assert any(
        r.get("event") == "images.cache_hit" and r.get("key") == second for r in records[started:]
    )
