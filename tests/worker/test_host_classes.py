"""GPU host classes: phases name their queue; a worker refuses what it cannot run, never the team.

Real PostgreSQL, Redis, Docker and Celery workers. This engine has no GPU and
no NVIDIA runtime, which is what makes the second test bite: had the worker
asked for a GPU, the engine would have refused to start the container.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

import pytest
from celery import Celery

from backend.challenges.models import Phase
from backend.enums import SubmissionStatus
from backend.submissions import repository as subs
from backend.submissions.models import Submission
from tests.support.celery_worker import CeleryWorker
from tests.support.images import shell_image
from tests.support.redeliver import redelivered
from tests.support.world import make_world
from worker.evaluation import evaluate
from worker.host import HostFacts, detect
from worker.runner.base import RunResult, RunSpec

pytestmark = [pytest.mark.docker, pytest.mark.postgres]

COPY_INPUTS = 'for f in /input/*; do cp "$f" /output/; done; echo copied'


@dataclass
class RecordingRunner:
    """The real runner, remembering every container it was asked to start."""

    inner: object
    specs: list[RunSpec] = field(default_factory=list)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def run(self, spec: RunSpec) -> RunResult:
        self.specs.append(spec)
        return self.inner.run(spec)  # type: ignore[attr-defined]


def _world(context, docker_client, *, gpu: bool):
    with context.session_factory.begin() as session:
        world = make_world(session, data_root=context.settings.data_root, cases=2, samples=0)
        session.get(Phase, world.phase_id).gpu = gpu
        image = shell_image(docker_client, COPY_INPUTS)
        submission_id = world.add_submission(session, docker_client=docker_client, image=image)
    return world, submission_id


def _ledger(context, world) -> list[int]:
    with context.session_factory() as session:
        entries = subs.quota_ledger(session, team_id=world.team_id, phase_id=world.phase_id)
        return [e.change for e in entries]


def test_a_gpu_phase_on_a_gpu_less_worker_is_refunded_as_a_deployment_fault(
    worker_context, docker_client
):
    runner = RecordingRunner(worker_context.runner)
    worker_context.runner = runner
    world, sid = _world(worker_context, docker_client, gpu=True)
    first = evaluate(sid, context=worker_context)
    assert first.status == "queued"  # retried on its queue
    assert first.retry_in is not None
    last = evaluate(sid, context=worker_context)  # max_attempts=2
    assert last.status == "error"
    with worker_context.session_factory() as session:
        submission = session.get(Submission, sid)
        assert submission.failure_class == "infrastructure"
        assert "not charged to you" in submission.message
        assert "this phase needs a GPU, but worker" in submission.message
        assert "PODIUM_GPUS is empty" in submission.message
        assert "a deployment fault" in submission.message
    assert runner.specs == []  # refused before any container started
    assert _ledger(worker_context, world) == [-1, 1]  # the slot came back


def test_a_cpu_phase_on_a_gpu_worker_runs_without_device_requests(worker_context, docker_client):
    runner = RecordingRunner(worker_context.runner)
    worker_context.runner = runner
    worker_context.settings = worker_context.settings.model_copy(update={"gpus": "0"})
    worker_context.host = HostFacts(gpu_ids=("0",), nvidia_runtime=True)
    _, sid = _world(worker_context, docker_client, gpu=False)
    assert redelivered(sid, worker_context).status == "succeeded"
    assert runner.specs
    assert all(spec.gpus == () for spec in runner.specs)


def test_a_gpu_worker_whose_engine_lacks_the_runtime_says_so(worker_context):
    settings = worker_context.settings.model_copy(update={"gpus": "0"})
    facts = detect(settings, worker_context.runner)
    assert facts.nvidia_runtime is False  # this engine has no NVIDIA runtime
    assert not facts.has_gpu
    assert "nvidia-ctk runtime configure" in (facts.misconfigured or "")


@pytest.mark.redis
@pytest.mark.slow
def test_a_celery_worker_retries_a_misrouted_gpu_run_on_its_queue_then_refunds_it(
    worker_context, docker_client, redis_url, tmp_path
):
    settings = worker_context.settings
    queue = f"gpu-h100-{uuid.uuid4().hex[:6]}"
    env = {
        "PODIUM_DATABASE_URL": settings.database_url,
        "PODIUM_BROKER_URL": redis_url,
        "PODIUM_DATA_ROOT": str(settings.data_root),
        "PODIUM_WORK_DIR": str(settings.work_dir),
        "PODIUM_RETRY_BACKOFF_S": "0",
        "PODIUM_MAX_ATTEMPTS": "2",
        "PODIUM_GPUS": "",
        "PODIUM_WORKER_NAME": "cpu-misrouted",
        "PODIUM_CONTAINER_PREFIX": settings.container_prefix,
    }
    world, sid = _world(worker_context, docker_client, gpu=True)
    with worker_context.session_factory.begin() as session:
        session.get(Phase, world.phase_id).queue = queue
    worker = CeleryWorker(name="cpu", queue=queue, env=env, log=tmp_path / "cpu.log")
    sender = Celery("podium-test-sender", broker=redis_url)
    try:
        worker.wait_ready()
        (ready,) = worker.events("worker.ready")
        assert ready["gpus"] == []
        assert ready["queue"] == queue
        assert ready["gpu_runs"] == "refused (no GPU here)"
        sender.send_task("evaluate_submission", args=[sid], queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with worker_context.session_factory() as session:
                submission = session.get(Submission, sid)
                if submission.status == SubmissionStatus.ERROR:
                    break
            time.sleep(0.2)
        assert submission.status == SubmissionStatus.ERROR, worker.text()
        assert "worker cpu-misrouted (queue " + queue in submission.message
        # Both attempts were delivered on the phase's queue, to this worker.
        faults = worker.events("evaluation.infrastructure_fault")
        assert [f["attempt"] for f in faults] == [1, 2]
        assert _ledger(worker_context, world) == [-1, 1]
        worker.stop()
        # Even what Celery prints from its signal handler on the way out is JSON.
        records = worker.records()
        assert any(str(r["event"]).startswith("worker: Warm shutdown") for r in records)
    finally:
        worker.stop()
        sender.close()
