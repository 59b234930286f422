"""A TriALS-template image runs unchanged under the contract TriALS ran, through the real worker.

The same predictions (each test input is its own lesion mask) come once from a
busybox image under the original contract and once from the TriALS-shaped
image (root, ``ENTRYPOINT ["/bin/bash", "/user/run.sh"]``, CSV + folders as
arguments, ``<id>_0000.nii.gz`` inputs, 1 GiB through ``/dev/shm``); the stored
case scores must be identical.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.challenges.models import Phase
from backend.enums import SubmissionStatus
from backend.submissions import repository as subs
from backend.submissions.models import Evaluation, Submission
from tests.support.images import shell_image
from tests.support.trials_image import trials_image
from tests.support.world import make_world
from worker.evaluation import evaluate

pytestmark = [pytest.mark.docker, pytest.mark.postgres, pytest.mark.slow]

TRIALS_CONTRACT = {
    "args": ["/input/cases.csv", "/input", "/output"],
    "cases_csv": "/input/cases.csv",
    "input_name": "{case}_0000{ext}",
    "shm_size_mb": 2048,
    "root_images": "run_unprivileged",
}
COPY_INPUTS = 'for f in /input/*; do cp "$f" /output/; done; ls /input'


def _scores(context, submission_id) -> dict[tuple[int, str], dict]:
    with context.session_factory() as session:
        (evaluation,) = session.scalars(
            select(Evaluation).where(Evaluation.submission_id == submission_id)
        ).all()
        return {(s.case_id, s.paradigm): s.result for s in subs.case_scores(session, evaluation.id)}


def _submission(context, submission_id) -> Submission:
    with context.session_factory() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        return submission


def test_the_trials_template_runs_unchanged_and_scores_like_the_default_contract(
    worker_context, docker_client
):
    trials = trials_image(docker_client)  # first build on a machine: a few minutes
    with worker_context.session_factory.begin() as session:
        world = make_world(
            session,
            data_root=worker_context.settings.data_root,
            cases=3,
            time_limit_s=120,
            memory_limit_mb=3072,
        )
        default_id = world.add_submission(
            session, docker_client=docker_client, image=shell_image(docker_client, COPY_INPUTS)
        )
        refused_id = world.add_submission(session, docker_client=docker_client, image=trials)

    # The original contract: /input/<case>.nii.gz, no arguments, root refused.
    assert evaluate(default_id, context=worker_context).status == "succeeded"
    assert _submission(worker_context, default_id).log_tail.split() == [
        f"{key}.nii.gz" for key in world.case_keys
    ]
    assert evaluate(refused_id, context=worker_context).status == "failed"
    refused = _submission(worker_context, refused_id)
    assert refused.failure_class == "image_user"
    assert "runs as root" in refused.message

    # The phase now runs as TriALS ran; the template image, unchanged.
    with worker_context.session_factory.begin() as session:
        phase = session.get(Phase, world.phase_id)
        assert phase is not None
        phase.container = TRIALS_CONTRACT
        trials_id = world.add_submission(session, docker_client=docker_client, image=trials)
    outcome = evaluate(trials_id, context=worker_context)
    submission = _submission(worker_context, trials_id)
    assert outcome.status == "succeeded", (submission.message, submission.log_tail)
    assert submission.status == SubmissionStatus.SUCCEEDED
    assert submission.message == "Scored 3 of 3 cases."
    log = submission.log_tail
    assert "cases from /input/cases.csv, images in /input, masks to /output" in log
    assert "/dev/shm holds 2048 MiB" in log
    assert "touched 1024 MiB of shared memory" in log
    assert [line for line in log.splitlines() if line.startswith("segmented")] == [
        f"segmented {key}" for key in world.case_keys
    ]

    default_scores = _scores(worker_context, default_id)
    trials_scores = _scores(worker_context, trials_id)
    assert len(trials_scores) == 3 * 2  # cases × paradigms
    assert trials_scores == default_scores
    assert all(r["status"] == "ok" for r in trials_scores.values())
