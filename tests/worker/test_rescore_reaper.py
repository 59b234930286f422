"""Re-scoring from stored predictions, the reaper, and the embedded mode."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from backend.challenges.models import LabelSet
from backend.enums import SubmissionStatus
from backend.jobs import Job
from backend.leaderboard import repository as boards
from backend.submissions import repository as subs
from backend.submissions.models import Evaluation, Submission
from tests.support.images import shell_image
from tests.support.world import lesion_mask, make_world, write_mask
from worker.embedded import embedded_queue
from worker.evaluation import evaluate
from worker.reaper import reap_stuck
from worker.rescoring import rescore_phase
from worker.tasks import run_embedded

pytestmark = [pytest.mark.docker, pytest.mark.postgres]

COPY_INPUTS = 'for f in /input/*; do cp "$f" /output/; done'


class NoContainers:
    """A runner that fails the test if anything tries to run a container."""

    def load_image(self, *args, **kwargs):
        raise AssertionError("re-scoring must not load an image")

    def run(self, *args, **kwargs):
        raise AssertionError("re-scoring must not run a container")

    def remove_image(self, *args, **kwargs):
        raise AssertionError("re-scoring must not touch images")


def _world_with_submission(context, docker_client, **options):
    with context.session_factory.begin() as session:
        world = make_world(session, data_root=context.settings.data_root, **options)
        image = shell_image(docker_client, COPY_INPUTS)
        sid = world.add_submission(session, docker_client=docker_client, image=image)
    return world, sid


def test_rescoring_uses_stored_predictions_and_the_new_label_version(worker_context, docker_client):
    world, sid = _world_with_submission(worker_context, docker_client)
    assert evaluate(sid, context=worker_context).status == "succeeded"
    # Organisers publish v2 of the combined labels: identical to the visible ones.
    root = worker_context.settings.data_root
    with worker_context.session_factory.begin() as session:
        for label_set in session.scalars(select(LabelSet).where(LabelSet.paradigm == "combined")):
            label_set.active = False
        session.flush()
        session.add(
            LabelSet(
                task_id=world.task_id,
                paradigm="combined",
                version=2,
                sha256="combined-v2",
                active=True,
                storage_path=f"labels/{world.task_id}/combined/v2",
            )
        )
    for index, key in enumerate(world.case_keys):
        write_mask(root / f"labels/{world.task_id}/combined/v2/{key}.nii.gz", lesion_mask(index))

    context = replace(worker_context, runner=NoContainers())
    assert rescore_phase(world.phase_id, context=context) == 1
    assert rescore_phase(world.phase_id, context=context) == 1  # again: overwritten, not added
    with worker_context.session_factory() as session:
        evaluations = session.scalars(select(Evaluation).order_by(Evaluation.id)).all()
        assert [e.label_sets["combined"]["version"] for e in evaluations] == [1, 2]
        assert evaluations[1].label_sets["visible"]["version"] == 1
        new_scores = subs.case_scores(session, evaluations[1].id)
        assert len(new_scores) == 4
        combined = [s.result for s in new_scores if s.paradigm == "combined"]
        assert all(r["fn_50"] == 0 and r["dice"] == 1.0 for r in combined)
        assert len(subs.case_scores(session, evaluations[0].id)) == 4
        assert boards.generation(session, phase_id=world.phase_id) == 2  # cached boards dropped


def _set(context, sid, **values):
    with context.session_factory.begin() as session:
        submission = session.get(Submission, sid)
        for name, value in values.items():
            setattr(submission, name, value)


def test_reaper_requeues_silent_and_overrunning_runs_and_ends_exhausted_ones(
    worker_context, docker_client
):
    world, silent = _world_with_submission(worker_context, docker_client)
    now = datetime.now(UTC)
    with worker_context.session_factory.begin() as session:
        image = shell_image(docker_client, COPY_INPUTS)
        exhausted, overran, healthy = (
            world.add_submission(session, docker_client=docker_client, image=image)
            for _ in range(3)
        )
    long_ago = now - timedelta(hours=3)
    _set(worker_context, silent, status=SubmissionStatus.RUNNING, attempt=1, queue="gpu-a100",
         started_at=now, updated_at=now - timedelta(minutes=5))  # fmt: skip
    _set(worker_context, exhausted, status=SubmissionStatus.SCORING, attempt=2,
         started_at=now, updated_at=now - timedelta(minutes=5))  # fmt: skip
    _set(worker_context, overran, status=SubmissionStatus.RUNNING, attempt=1,
         started_at=long_ago, updated_at=now)  # fmt: skip
    _set(worker_context, healthy, status=SubmissionStatus.RUNNING, attempt=1,
         started_at=now, updated_at=now)  # fmt: skip

    sent: list[tuple[int, str]] = []
    actions = reap_stuck(
        send=lambda sid, queue: sent.append((sid, queue)), context=worker_context, now=now
    )
    assert sorted(actions) == sorted(
        [(silent, "requeued"), (exhausted, "error"), (overran, "requeued")]
    )
    # Back to the queue each was sent to; one accepted before queues were stored: the default.
    assert sorted(sent) == sorted([(silent, "gpu-a100"), (overran, "evaluation")])
    with worker_context.session_factory() as session:
        assert session.get(Submission, silent).status == SubmissionStatus.QUEUED
        assert "stopped answering" in session.get(Submission, silent).message
        assert "overran" in session.get(Submission, overran).message
        ended = session.get(Submission, exhausted)
        assert ended.status == SubmissionStatus.ERROR
        assert ended.slot is None
        assert session.get(Submission, healthy).status == SubmissionStatus.RUNNING
    # The requeued one then completes normally, as its next attempt.
    assert evaluate(silent, context=worker_context).status == "succeeded"
    with worker_context.session_factory() as session:
        assert session.get(Submission, silent).attempt == 2


def test_embedded_handler_runs_in_process_and_retries(worker_context, docker_client):
    _world, good = _world_with_submission(worker_context, docker_client)
    assert run_embedded(good, context=worker_context) == "succeeded"
    _world, broken = _world_with_submission(worker_context, docker_client)
    tarball = worker_context.settings.data_root / f"submissions/{broken}/image.tar"
    tarball.unlink()
    assert run_embedded(broken, context=worker_context) == "error"
    with worker_context.session_factory() as session:
        assert session.get(Submission, broken).attempt == worker_context.settings.max_attempts


def test_embedded_queue_evaluates_jobs_sent_by_name(worker_context, docker_client):
    _world, sid = _world_with_submission(worker_context, docker_client)
    queue = embedded_queue(context=worker_context)
    queue.send(Job(task_name="evaluate_submission", args=(sid,), queue="evaluation"))
    queue.shutdown()
    assert queue.unhandled == []
    with worker_context.session_factory() as session:
        assert session.get(Submission, sid).status == SubmissionStatus.SUCCEEDED
