"""Storage backends: the same contract on the filesystem and on a real S3-speaking server.

The S3 side runs against moto's standalone server (a real HTTP endpoint on
127.0.0.1, started by the fixture), through boto3 as in production.
"""

from __future__ import annotations

import socket
from dataclasses import replace

import boto3
import pytest
from moto.server import ThreadedMotoServer

from backend.storage import FilesystemStorage, S3Storage, StorageError
from tests.support.images import shell_image
from tests.support.world import make_world
from worker.evaluation import evaluate


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server on a free local port for this module."""
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_client(s3_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "podium-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "podium-test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client("s3", endpoint_url=s3_endpoint)
    client.create_bucket(Bucket="podium")
    return client


@pytest.fixture(params=["filesystem", "s3"])
def storage(request, tmp_path, s3_endpoint):
    if request.param == "filesystem":
        return FilesystemStorage(tmp_path / "store")
    client = request.getfixturevalue("s3_client")
    return S3Storage(bucket="podium", prefix="data", client=client)


def test_put_fetch_list_exists(storage, tmp_path):
    source = tmp_path / "a.nii.gz"
    source.write_bytes(b"prediction")
    storage.put(source, "predictions/7/case_1.nii.gz")
    storage.put(source, "predictions/7/case_2.nii.gz")
    storage.put(source, "predictions/7/nested/case_3.nii.gz")
    assert storage.exists("predictions/7/case_1.nii.gz")
    assert not storage.exists("predictions/7/case_9.nii.gz")
    assert storage.list("predictions/7") == [
        "predictions/7/case_1.nii.gz",
        "predictions/7/case_2.nii.gz",
    ]
    assert storage.list("predictions/8") == []
    storage.fetch("predictions/7/case_2.nii.gz", tmp_path / "got" / "x.nii.gz")
    assert (tmp_path / "got" / "x.nii.gz").read_bytes() == b"prediction"
    with pytest.raises(StorageError):
        storage.fetch("predictions/7/absent.nii.gz", tmp_path / "absent")
    with pytest.raises(ValueError, match="relative path"):
        storage.fetch("../outside", tmp_path / "x")
    with pytest.raises(ValueError, match="relative path"):
        storage.put(source, "/etc/passwd")
    storage.delete("predictions/7/case_1.nii.gz")
    storage.delete("predictions/7/case_1.nii.gz")  # again: nothing to do, no error
    assert storage.list("predictions/7") == ["predictions/7/case_2.nii.gz"]
    assert storage.exists("predictions/7/nested/case_3.nii.gz")
    with pytest.raises(ValueError, match="relative path"):
        storage.delete("../outside")


@pytest.mark.docker
@pytest.mark.postgres
def test_a_submission_is_evaluated_from_s3(worker_context, docker_client, s3_client):
    # Everything a run needs comes from the bucket: image tarball, inputs, labels;
    # the predictions go back to it.
    data_root = worker_context.settings.data_root
    with worker_context.session_factory.begin() as session:
        world = make_world(session, data_root=data_root, cases=2, samples=0)
        image = shell_image(docker_client, 'for f in /input/*; do cp "$f" /output/; done')
        submission_id = world.add_submission(session, docker_client=docker_client, image=image)
    for path in data_root.rglob("*"):
        if path.is_file():
            s3_client.upload_file(str(path), "podium", str(path.relative_to(data_root)))
    s3 = S3Storage(bucket="podium", client=s3_client)
    context = replace(worker_context, storage=s3)
    assert evaluate(submission_id, context=context).status == "succeeded"
    assert s3.list(f"predictions/{submission_id}") == [
        f"predictions/{submission_id}/case_000.nii.gz",
        f"predictions/{submission_id}/case_001.nii.gz",
    ]
