"""Interactive submissions through the real worker: evaluate(), the database, the engine.

A phase of :func:`tests.support.world.make_world` made interactive (the TriALS
run contract and an ``interaction:`` block); busybox containers whose inputs
are their own labels. The loop's own rules and hostile containers are in
``test_interactive_docker.py``; this is the attempt around them: states,
messages, failure classes and the stored per-click scores.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from backend.challenges.models import Phase
from backend.enums import SubmissionStatus
from backend.interactive.models import InteractiveCaseScore
from backend.submissions import repository as subs
from backend.submissions.models import Evaluation, Submission
from tests.support.images import shell_image
from tests.support.interactive import LOOP
from tests.support.world import make_world
from worker.evaluation import evaluate

pytestmark = [pytest.mark.docker, pytest.mark.postgres]

CONTRACT = {
    "args": ["/input/cases.csv", "/input", "/output"],
    "cases_csv": "/input/cases.csv",
    "input_name": "{case}_0000{ext}",
}
#: Static mode: every click count's prediction is the input.
STATIC = r"""
while read c; do
  mkdir -p "$3/$c"
  for k in 0 1 2; do cp "$2/${c}_0000.nii.gz" "$3/$c/${c}_$k.nii.gz"; done
  ls "$2/${c}_clicks.json"
done < "$1"
"""


def _interaction(mode: str) -> dict:
    return {
        "mode": mode,
        "clicks": 2,
        "paradigm": "visible",
        "simulator": {"seed": 1},
        "click_source": "simulated",
        "step_time_limit_s": 2,
        "startup_time_limit_s": 3,
    }


def _submit(context, docker_client, world, *, mode: str, script: str) -> int:
    with context.session_factory.begin() as session:
        phase = session.get(Phase, world.phase_id)
        assert phase is not None
        phase.container = CONTRACT
        phase.interaction = _interaction(mode)
        return world.add_submission(
            session, docker_client=docker_client, image=shell_image(docker_client, script)
        )


@pytest.fixture
def world(worker_context):
    with worker_context.session_factory.begin() as session:
        return make_world(
            session, data_root=worker_context.settings.data_root, cases=2, time_limit_s=60
        )


@pytest.mark.parametrize(("mode", "script"), [("closed_loop", LOOP), ("static", STATIC)])
def test_an_interactive_submission_is_scored_per_click(
    worker_context, docker_client, world, mode, script
):
    submission_id = _submit(worker_context, docker_client, world, mode=mode, script=script)
    outcome = evaluate(submission_id, context=worker_context)
    with worker_context.session_factory() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        assert outcome.status == "succeeded", (submission.message, submission.log_tail)
        assert submission.status == SubmissionStatus.SUCCEEDED
        assert submission.message == (
            "Scored 2 cases at 0…2 clicks; 2 with every prediction usable."
        )
        (evaluation,) = session.scalars(
            select(Evaluation).where(Evaluation.submission_id == submission_id)
        ).all()
        stored = session.scalars(
            select(InteractiveCaseScore).where(InteractiveCaseScore.evaluation_id == evaluation.id)
        ).all()
        # Every case against both paradigms; the clicks came from "visible", which the
        # inputs equal, so that curve is perfect everywhere.
        assert sorted((s.case_id, s.paradigm) for s in stored) == sorted(
            (world.case_pks[k], p) for k in world.case_keys for p in ("combined", "visible")
        )
        for row in stored:
            assert row.clicks == 2
            assert row.status == "ok"
            if row.paradigm == "visible":
                assert (row.dsc_auc, row.dsc_final, row.msd_final) == (2.0, 1.0, 0.0)
            else:
                assert row.dsc_final < 1.0  # the fused label has one lesion more
        # The boards' lesion-wise view: the prediction at N clicks, as a CaseScore.
        assert len(subs.case_scores(session, evaluation.id)) == 2 * 2
    log = submission.log_tail
    if mode == "closed_loop":
        assert 'case_001 ended: {"reason": "complete", "predictions": 3}' in log
    else:
        assert "/input/case_001_clicks.json" in log


def test_a_container_deaf_to_the_protocol_fails_as_no_outputs(worker_context, docker_client, world):
    submission_id = _submit(
        worker_context, docker_client, world, mode="closed_loop", script="sleep 30"
    )
    outcome = evaluate(submission_id, context=worker_context)
    with worker_context.session_factory() as session:
        submission = session.get(Submission, submission_id)
        assert submission is not None
        assert outcome.status == "failed"
        assert submission.failure_class == "no_outputs"
        assert "no answer within the step limit of 5 s at request 0" in submission.message
        assert "/output/<case>/<case>_<k>.done" in submission.message
