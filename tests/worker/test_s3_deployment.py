"""Object storage end to end: the API and two workers, each on its own disk, share only a bucket.

The API (the real app, through HTTP) stores the challenge's inputs and label
sets and a team's upload in moto's S3 server; two real ``celery worker``
processes, each with a data root of its own, take the submissions from one
queue and run them. No folder is shared: what one process wrote, the others
could only have read from the bucket.
"""

from __future__ import annotations

import io
import tarfile
import time
import uuid
from pathlib import Path

import boto3
import pytest
from celery import Celery
from fastapi.testclient import TestClient
from sqlalchemy import update

from backend.auth import service as auth_service
from backend.auth.models import User
from backend.config import Settings
from backend.db import make_engine, make_session_factory
from backend.enums import Role
from backend.jobs import CeleryJobQueue
from backend.main import create_app
from demo.data import generate_demo_dataset
from tests.support.celery_worker import CeleryWorker
from tests.support.models import threshold_binary, threshold_tarball
from tests.support.s3 import CREDENTIALS, moto_server

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

BUCKET = "podium-deploy"


def _archive(files: list[Path]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in files:
            tar.add(path, arcname=path.name)
    return buffer.getvalue()


def _files_under(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


def _seed(client: TestClient, organiser: dict[str, str], data: Path) -> int:
    """The demo challenge through the API: definition, task 1's inputs and labels."""
    spec = (data / "trials-demo.yaml").read_bytes()
    challenge = client.put(
        "/api/v1/challenges",
        content=spec,
        headers={**organiser, "Content-Type": "application/yaml"},
    ).json()
    task = next(t for t in challenge["tasks"] if t["slug"] == "task1")
    phase = next(p for p in task["phases"] if p["slug"] == "validation")
    cases = client.get(f"/api/v1/phases/{phase['id']}/cases", headers=organiser).json()
    inputs = [data / "images" / "venous" / f"{c['case_key']}.nii.gz" for c in cases]
    stored = client.post(
        f"/api/v1/phases/{phase['id']}/inputs", content=_archive(inputs), headers=organiser
    )
    assert stored.status_code == 200, stored.text
    labels = sorted((data / "labels" / "venous").iterdir())
    made = client.post(
        f"/api/v1/tasks/{task['id']}/label-sets/venous",
        content=_archive(labels),
        headers=organiser,
    )
    assert made.status_code == 201, made.text
    return int(phase["id"])


def _account(engine, *, email: str, password: str, name: str) -> None:
    # A confirmed account (signing up over HTTP waits for the e-mailed link).
    with make_session_factory(engine).begin() as session:
        auth_service.register(session, email=email, password=password, display_name=name)


def _team(client: TestClient, engine) -> dict[str, str]:
    user = {"email": "s3@example.org", "password": "a long s3 password", "display_name": "S3"}
    _account(engine, email=user["email"], password=user["password"], name=user["display_name"])
    session = client.post(
        "/api/v1/auth/login", json={"email": user["email"], "password": user["password"]}
    ).json()["token"]
    token = client.post(
        "/api/v1/auth/tokens", json={"name": "t"}, headers={"Authorization": f"Bearer {session}"}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    made = client.post("/api/v1/challenges/trials-demo/teams", json={"name": "S3"}, headers=headers)
    assert made.status_code == 201, made.text
    return headers


def test_api_and_two_workers_share_only_the_bucket(
    committing_postgres_url, redis_url, docker_client, tmp_path, monkeypatch
):
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    queue = f"s3-{uuid.uuid4().hex[:6]}"
    prefix = f"podium-s3{uuid.uuid4().hex[:6]}"
    with moto_server() as endpoint:
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        storage_env = {
            "PODIUM_STORAGE_BACKEND": "s3",
            "PODIUM_S3_BUCKET": BUCKET,
            "PODIUM_S3_PREFIX": "deployment",
            "PODIUM_S3_ENDPOINT_URL": endpoint,
        }
        settings = Settings(
            environment="test",
            secret_key="s3-deployment-test-secret-key-long-enough",
            data_root=tmp_path / "api",
            database_url=committing_postgres_url,
            evaluation_queue=queue,
            storage_backend="s3",
            s3_bucket=BUCKET,
            s3_prefix="deployment",
            s3_endpoint_url=endpoint,
            log_json=False,
        )
        engine = make_engine(committing_postgres_url)
        app = create_app(
            settings,
            session_factory=make_session_factory(engine),
            job_queue=CeleryJobQueue(redis_url),
            configure_logs=False,
        )
        workers = [
            CeleryWorker(
                name=f"{queue}-{n}",
                queue=queue,
                env={
                    **CREDENTIALS,
                    **storage_env,
                    "PODIUM_DATABASE_URL": committing_postgres_url,
                    "PODIUM_BROKER_URL": redis_url,
                    "PODIUM_DATA_ROOT": str(tmp_path / f"worker{n}"),
                    "PODIUM_RUN_CPUS": "1",
                    "PODIUM_CONTAINER_PREFIX": f"{prefix}{n}",
                    "PODIUM_HEARTBEAT_S": "1",
                },
                log=tmp_path / f"worker{n}.log",
            )
            for n in (1, 2)
        ]
        sender = Celery("s3-test", broker=redis_url)
        try:
            data = generate_demo_dataset(tmp_path / "demo", cases_per_centre=2, n_sample_cases=1)
            binary = threshold_binary(tmp_path / "predict")
            slow = threshold_tarball(docker_client, binary, delay_s=4, out=tmp_path / "m.tar")
            with TestClient(app) as client:
                register = {"email": "org@example.org", "password": "an organiser password"}
                _account(engine, email=register["email"], password=register["password"], name="Org")
                _promote(engine, register["email"])
                token = client.post("/api/v1/auth/login", json=register).json()["token"]
                organiser = {"Authorization": f"Bearer {token}"}
                phase_id = _seed(client, organiser, data.root)
                team = _team(client, engine)
                for worker in workers:
                    worker.wait_ready()
                ids = []
                for _ in range(2):
                    answer = client.post(
                        f"/api/v1/phases/{phase_id}/submissions",
                        content=slow.read_bytes(),
                        headers=team,
                    )
                    assert answer.status_code == 201, answer.text
                    ids.append(answer.json()["id"])
                    # The second goes out once a worker holds the first (one task per
                    # worker at a time), so the other worker is the one free to take it.
                    if len(ids) == 1:
                        _wait_started(client, team, ids[0], workers)
                rows = [_wait_done(client, team, i, workers) for i in ids]
                assert [r["status"] for r in rows] == ["succeeded", "succeeded"], rows
                # A public sample case comes back out of the bucket through the API.
                samples = client.get(f"/api/v1/phases/{phase_id}/sample-cases").json()
                got = client.get(samples[0]["input_url"])
                assert got.status_code == 200
                (sample_key,) = [s["case_key"] for s in samples]
                local = data.root / "images" / "venous" / f"{sample_key}.nii.gz"
                assert got.content == local.read_bytes()
            # Either worker ran one: each logged finishing a different submission.
            finished = [{e["submission"] for e in w.events("evaluation.finished")} for w in workers]
            assert sorted(len(f) for f in finished) == [1, 1]
            assert finished[0] | finished[1] == set(ids)
            # Nothing of the challenge or the uploads stayed on the API's disk.
            assert _files_under(settings.data_root) == []
            keys = {
                o["Key"]
                for o in boto3.client("s3", endpoint_url=endpoint)
                .list_objects_v2(Bucket=BUCKET)
                .get("Contents", [])
            }
            assert any(k.startswith("deployment/submissions/") for k in keys)
            assert any(k.startswith(f"deployment/predictions/{ids[0]}/") for k in keys)
            assert any("/labels/venous/v1/" in k for k in keys)
        finally:
            for worker in workers:
                worker.stop()
            sender.close()
            engine.dispose()


def _promote(engine, email: str) -> None:
    with engine.begin() as connection:
        connection.execute(update(User).where(User.email == email).values(role=Role.ORGANISER))


def _wait_started(client: TestClient, team: dict[str, str], submission_id: int, workers) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        row = client.get(f"/api/v1/submissions/{submission_id}", headers=team).json()
        if row["status"] != "queued":
            return
        time.sleep(0.2)
    logs = "\n".join(w.text()[-2000:] for w in workers)
    raise AssertionError(f"submission {submission_id} was never taken\n{logs}")


def _wait_done(client: TestClient, team: dict[str, str], submission_id: int, workers) -> dict:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        row = client.get(f"/api/v1/submissions/{submission_id}", headers=team).json()
        if row["status"] in {"succeeded", "failed", "failed_preflight", "error"}:
            return dict(row)
        time.sleep(0.5)
    logs = "\n".join(w.text()[-2000:] for w in workers)
    raise AssertionError(f"submission {submission_id} still {row['status']}\n{logs}")
