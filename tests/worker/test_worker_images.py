"""Uploaded tarballs through the worker's image store, on both image stores.

The worker's one tarball path (:func:`worker.engine_load.load_accepted`): the
stored file streamed to the engine and hashed on the way, the accepted image
recognised on the classic store (ID = config digest) and on the containerd
store (ID = a manifest digest), cached, reused, and removed again when the
file is not what the team uploaded. The team's side (build, ``docker save``)
uses the host's engine; the worker runs on ``docker_client``.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import tarfile
import time
import uuid
from pathlib import Path

import docker.errors
import pytest

from backend.submissions.models import Submission
from tests.support.engines import ENGINE_NAMES, engine_client, is_containerd_store
from tests.support.images import build_image, save_image
from tests.support.redeliver import redelivered
from tests.support.world import World, make_world
from worker.evaluation import evaluate
from worker.images import image_store

pytestmark = [pytest.mark.docker, pytest.mark.postgres]

COPY_INPUTS = 'for f in /input/*; do cp "$f" /output/; done; echo copied'


@pytest.fixture(params=ENGINE_NAMES)
def docker_client(request):
    """The worker's engine: every test here runs on both image stores."""
    return engine_client(request)


@pytest.fixture
def context(worker_context):
    """The worker context; the images its store cached are removed afterwards."""
    yield worker_context
    image_store(worker_context).clear()


def _world(context) -> World:
    with context.session_factory.begin() as session:
        return make_world(session, data_root=context.settings.data_root)


def _fresh_image(host_docker, tag: str) -> str:
    """A new image on the host's engine (the team's machine), unique to this test."""
    return build_image(
        host_docker,
        files={"/marker": f"{tag}-{uuid.uuid4().hex}"},
        entrypoint=["/bin/sh", "-c", COPY_INPUTS],
    )


def _submit(context, world: World, host_docker, image: str) -> int:
    with context.session_factory.begin() as session:
        return world.add_submission(session, docker_client=host_docker, image=image)


def _row(context, sid: int) -> Submission:
    with context.session_factory() as session:
        found = session.get(Submission, sid)
        assert found is not None
        return found


def _stored(context, sid: int) -> Path:
    return context.settings.data_root / _row(context, sid).tarball_path


def _image_ids(client) -> set[str]:
    return {str(image["Id"]) for image in client.api.images(all=True)}


def _loads_since(client, since: float) -> list[dict]:
    events = client.events(
        since=int(since), until=int(time.time()) + 1, decode=True, filters={"type": "image"}
    )
    # The engine's `since` has one-second resolution: the first submission's load in the
    # same second would count; the event's own nanosecond time decides.
    return [e for e in events if e.get("Action") == "load" and e.get("timeNano", 0) >= since * 1e9]


def test_a_tarball_is_loaded_once_recognised_cached_and_removed(
    context, host_docker, docker_client
):
    world = _world(context)
    image = _fresh_image(host_docker, "cached")
    first = _submit(context, world, host_docker, image)
    second = _submit(context, world, host_docker, image)
    config_digest = _row(context, first).image_digest
    host_docker.images.remove(image)  # the worker's engine does not hold it now

    assert redelivered(first, context).status == "succeeded"
    store = image_store(context)
    (entry,) = store.index.snapshot().values()
    assert (entry.key, entry.source) == (config_digest, "tarball")
    # The engine's own ID: the config digest on the classic store, a manifest digest
    # on the containerd store; either way the image is there under it.
    assert (entry.engine_ref == config_digest) == (not is_containerd_store(docker_client))
    assert docker_client.api.inspect_image(entry.engine_ref)["Id"] == entry.engine_ref

    started = time.time()
    assert redelivered(second, context).status == "succeeded"
    assert _loads_since(docker_client, started) == []  # served from the cache
    (again,) = store.index.snapshot().values()
    assert again.last_used > entry.last_used

    store.clear()
    with pytest.raises(docker.errors.ImageNotFound):
        docker_client.api.inspect_image(entry.engine_ref)


def test_a_stored_tarball_altered_after_upload_is_refused_and_unloaded(
    context, host_docker, docker_client, tmp_path
):
    world = _world(context)
    accepted = _fresh_image(host_docker, "accepted")
    other = _fresh_image(host_docker, "other")
    sid = _submit(context, world, host_docker, accepted)
    # The stored file is replaced by another valid image: loadable, but not the upload.
    save_image(host_docker, other, _stored(context, sid))
    host_docker.images.remove(accepted)
    host_docker.images.remove(other)
    before = _image_ids(docker_client)

    outcome = evaluate(sid, context=context)
    assert outcome.status == "queued"  # ours: retried, never charged to the team
    row = _row(context, sid)
    assert row.failure_class == "infrastructure"
    assert _image_ids(docker_client) == before
    assert image_store(context).index.snapshot() == {}


def _corrupt_layers(path: Path) -> None:
    """Replace the content of every layer in a ``docker save`` tarball by random bytes.

    The manifest and config stay, so the API's check of the upload passes (it
    reads only those); the engine cannot load the layers.
    """
    rng = random.Random(7)
    with tarfile.open(path) as source:
        members = [(m, source.extractfile(m).read() if m.isfile() else None) for m in source]
    layer_names = {
        name
        for member, data in members
        if member.name.endswith("manifest.json") and data is not None
        for entry in json.loads(data)
        for name in entry["Layers"]
    }
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as target:
        for member, data in members:
            content = rng.randbytes(len(data or b"")) if member.name in layer_names else data
            target.addfile(member, io.BytesIO(content) if content is not None else None)
    path.write_bytes(out.getvalue())


def test_an_upload_the_engine_cannot_load_is_the_teams_fault(context, host_docker, docker_client):
    world = _world(context)
    image = _fresh_image(host_docker, "broken")
    sid = _submit(context, world, host_docker, image)
    stored = _stored(context, sid)
    _corrupt_layers(stored)
    with context.session_factory.begin() as session:  # as uploaded: this is the team's file
        session.get(Submission, sid).tarball_sha256 = hashlib.sha256(
            stored.read_bytes()
        ).hexdigest()
    host_docker.images.remove(image)
    before = _image_ids(docker_client)

    assert evaluate(sid, context=context).status == "failed"
    row = _row(context, sid)
    assert row.failure_class == "image_invalid", row.message
    assert "not a loadable `docker save` image" in row.message
    assert row.slot is not None
    assert _image_ids(docker_client) == before
