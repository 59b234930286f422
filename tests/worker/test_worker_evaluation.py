"""evaluate_submission end to end: real PostgreSQL, real Docker, real scoring."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import select

from backend.challenges.models import LabelSet, Phase
from backend.enums import PhaseKind, SubmissionStatus
from backend.submissions import repository as subs
from backend.submissions.models import CaseScore, Evaluation, Submission
from tests.support.images import build_image, shell_image
from tests.support.world import make_world, write_mask
from worker.evaluation import evaluate

pytestmark = [pytest.mark.docker, pytest.mark.postgres]

COPY_INPUTS = 'for f in /input/*; do cp "$f" /output/; done; echo copied'


def _setup(context, docker_client, image, **world_options):
    with context.session_factory.begin() as session:
        world = make_world(session, data_root=context.settings.data_root, **world_options)
        submission_id = world.add_submission(session, docker_client=docker_client, image=image)
    return world, submission_id


def _submission(context, submission_id) -> Submission:
    with context.session_factory() as session:
        return session.get(Submission, submission_id)


def _scores(context, submission_id) -> list[CaseScore]:
    with context.session_factory() as session:
        evaluations = session.scalars(
            select(Evaluation).where(Evaluation.submission_id == submission_id)
        ).all()
        return [s for e in evaluations for s in subs.case_scores(session, e.id)]


def _ledger(context, world):
    with context.session_factory() as session:
        return [
            e.change
            for e in subs.quota_ledger(session, team_id=world.team_id, phase_id=world.phase_id)
        ]


def test_well_behaved_submission_is_scored_once_even_when_run_twice(worker_context, docker_client):
    world, sid = _setup(worker_context, docker_client, shell_image(docker_client, COPY_INPUTS))
    outcome = evaluate(sid, context=worker_context)
    assert outcome.status == "succeeded"
    submission = _submission(worker_context, sid)
    assert submission.status == SubmissionStatus.SUCCEEDED
    assert submission.attempt == 1
    assert submission.message == "Scored 2 of 2 cases."
    assert submission.log_tail == "copied\n"
    scores = _scores(worker_context, sid)
    assert len(scores) == 2 * 2  # cases × paradigms
    by = {(s.case_id, s.paradigm): s.result for s in scores}
    for key in world.case_keys:
        visible = by[(world.case_pks[key], "visible")]
        combined = by[(world.case_pks[key], "combined")]
        assert visible["dice"] == 1.0
        assert (visible["tp_50"], visible["fp_50"], visible["fn_50"]) == (2, 0, 0)
        assert (combined["tp_50"], combined["fn_50"]) == (2, 1)
    with worker_context.session_factory() as session:
        (evaluation,) = session.scalars(select(Evaluation)).all()
        assert evaluation.label_sets["visible"]["version"] == 1
        assert evaluation.scorer_version.startswith("podium-scoring")
    stored = worker_context.storage.list(f"predictions/{sid}")
    assert len(stored) == 2
    prepared = worker_context.settings.scratch_dir / "label-cache"
    assert len(list(prepared.rglob("*.pickle"))) == 2 * 2  # for the next submission

    # The task delivered again: nothing runs, nothing is added.
    again = evaluate(sid, context=worker_context)
    assert again.status == "succeeded"
    assert _submission(worker_context, sid).attempt == 1
    assert len(_scores(worker_context, sid)) == 4
    assert _ledger(worker_context, world) == [-1]


def test_a_run_interrupted_mid_way_is_redone_as_the_next_attempt(worker_context, docker_client):
    world, sid = _setup(worker_context, docker_client, shell_image(docker_client, COPY_INPUTS))
    with worker_context.session_factory.begin() as session:
        submission = session.get(Submission, sid)
        submission.status = SubmissionStatus.SCORING  # as a worker left it when it died
        submission.attempt = 1
        submission.updated_at = datetime.now(UTC) - timedelta(minutes=5)  # heartbeat silent
    stale = docker_client.containers.run(
        shell_image(docker_client, "sleep 300"),
        name=f"{worker_context.settings.container_prefix}-sub-{sid}-1",
        detach=True,
        network_mode="none",
    )
    assert evaluate(sid, context=worker_context).status == "succeeded"
    assert _submission(worker_context, sid).attempt == 2
    assert len(_scores(worker_context, sid)) == 4
    assert not docker_client.containers.list(all=True, filters={"id": stale.id})
    assert _ledger(worker_context, world) == [-1]


def test_a_run_with_a_live_heartbeat_is_left_to_its_worker(worker_context, docker_client):
    _world, sid = _setup(worker_context, docker_client, shell_image(docker_client, COPY_INPUTS))
    with worker_context.session_factory.begin() as session:
        submission = session.get(Submission, sid)
        submission.status = SubmissionStatus.RUNNING  # another worker is on it right now
        submission.attempt = 1
    outcome = evaluate(sid, context=worker_context)
    assert outcome.status == "busy"
    assert outcome.retry_in == worker_context.settings.takeover_after_s
    assert _submission(worker_context, sid).attempt == 1


@pytest.mark.parametrize(
    ("script", "kind", "words"),
    [
        ("echo 'no weights' >&2; exit 4", "nonzero_exit", "exited with code 4"),
        ("printf 'nul\\000byte\\n'; exit 5", "nonzero_exit", "exited with code 5"),
        ("echo done", "no_outputs", "wrote no usable prediction"),
        (
            'for f in /input/*; do cp /wrong.nii.gz /output/$(basename "$f"); done',
            "invalid_outputs",
            "prediction shape (4, 4, 4) differs from the label's (12, 10, 8)",
        ),
    ],
)
def test_participant_faults_fail_and_keep_the_slot(
    worker_context, docker_client, tmp_path, script, kind, words
):
    write_mask(tmp_path / "wrong.nii.gz", np.ones((4, 4, 4), dtype=np.uint8))
    image = build_image(
        docker_client,
        files={"/run.sh": script, "/wrong.nii.gz": (tmp_path / "wrong.nii.gz").read_bytes()},
        entrypoint=["/bin/sh", "/run.sh"],
    )
    world, sid = _setup(worker_context, docker_client, image)
    assert evaluate(sid, context=worker_context).status == "failed"
    submission = _submission(worker_context, sid)
    assert submission.failure_class == kind
    assert words in submission.message
    assert submission.slot is not None  # the slot is spent
    assert _scores(worker_context, sid) == []
    assert _ledger(worker_context, world) == [-1]
    if "printf" in script:  # a NUL in the log cannot break storing it
        assert submission.log_tail == "nul\ufffdbyte\n"


def test_final_phase_preflight_failure_refunds_and_shows_the_log(worker_context, docker_client):
    script = (
        "if [ -e /input/sample_0.nii.gz ]; then echo 'crash on the sample'; exit 2; fi\n"
        + COPY_INPUTS
    )
    world, sid = _setup(
        worker_context, docker_client, shell_image(docker_client, script), kind=PhaseKind.FINAL
    )
    assert evaluate(sid, context=worker_context).status == "failed_preflight"
    submission = _submission(worker_context, sid)
    assert submission.slot is None
    assert "Pre-flight failed" in submission.message
    assert "crash on the sample" in submission.log_tail
    assert _ledger(worker_context, world) == [-1, 1]


def test_final_phase_preflight_pass_runs_the_hidden_cases(worker_context, docker_client):
    world, sid = _setup(
        worker_context,
        docker_client,
        shell_image(docker_client, COPY_INPUTS),
        kind=PhaseKind.FINAL,
    )
    assert evaluate(sid, context=worker_context).status == "succeeded"
    scored = {s.case_id for s in _scores(worker_context, sid)}
    assert scored == {world.case_pks[k] for k in world.case_keys}
    assert _ledger(worker_context, world) == [-1]


def test_infrastructure_faults_retry_then_error_with_refund(worker_context, docker_client):
    world, sid = _setup(worker_context, docker_client, shell_image(docker_client, COPY_INPUTS))
    (worker_context.settings.data_root / f"submissions/{sid}/image.tar").unlink()
    first = evaluate(sid, context=worker_context)
    assert first.status == "queued"
    assert first.retry_in is not None
    assert _submission(worker_context, sid).failure_class == "infrastructure"
    second = evaluate(sid, context=worker_context)  # max_attempts=2 in the fixture
    assert second.status == "error"
    assert second.retry_in is None
    submission = _submission(worker_context, sid)
    assert submission.slot is None
    assert "not charged to you" in submission.message
    assert _ledger(worker_context, world) == [-1, 1]


def test_a_cpu_phase_gets_no_gpu_even_on_a_gpu_worker(worker_context, docker_client):
    # This engine has no GPU runtime: a device request would make the start fail.
    gpu_worker = replace(worker_context, settings=worker_context.settings.model_copy(
        update={"gpus": "0"}))  # fmt: skip
    _world, sid = _setup(gpu_worker, docker_client, shell_image(docker_client, COPY_INPUTS))
    assert evaluate(sid, context=gpu_worker).status == "succeeded"
    with gpu_worker.session_factory.begin() as session:
        session.get(Phase, _world.phase_id).gpu = True
        again = session.get(Submission, sid)
        again.status = SubmissionStatus.QUEUED
    outcome = evaluate(sid, context=gpu_worker)
    # The engine has no GPU runtime, so the worker refuses the GPU run before starting
    # it (worker/host.py): our fault, not the team's (and, this being the fixture's last
    # attempt, the slot is refunded).
    assert outcome.status == "error"
    assert _submission(gpu_worker, sid).slot is None
    assert "no nvidia runtime" in _submission(gpu_worker, sid).log_tail


def test_a_task_without_active_labels_is_our_fault_not_the_teams(worker_context, docker_client):
    world, sid = _setup(worker_context, docker_client, shell_image(docker_client, COPY_INPUTS))
    with worker_context.session_factory.begin() as session:
        for label_set in session.scalars(select(LabelSet).where(LabelSet.task_id == world.task_id)):
            label_set.active = label_set.paradigm != "combined"
    first = evaluate(sid, context=worker_context)
    assert (first.status, first.retry_in) == ("queued", 0.0)
    assert "no active label set for ['combined']" in _submission(worker_context, sid).log_tail
    assert evaluate(sid, context=worker_context).status == "error"
    assert _submission(worker_context, sid).slot is None
    assert _ledger(worker_context, world) == [-1, 1]
