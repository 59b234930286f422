"""Re-scoring a phase against several label-set versions: one read per stored prediction."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import select

import scoring.metrics
from backend.challenges.models import LabelSet
from backend.submissions import repository as subs
from backend.submissions.models import Evaluation
from tests.support.images import shell_image
from tests.support.world import lesion_mask, make_world, write_mask
from tests.worker.test_rescore_reaper import COPY_INPUTS, NoContainers
from worker.evaluation import evaluate
from worker.rescoring import rescore_phase
from worker.runner.base import InfrastructureError

pytestmark = [pytest.mark.docker, pytest.mark.postgres]


def test_versions_are_scored_from_one_read_and_the_active_ones_written_last(
    worker_context, docker_client, monkeypatch
):
    with worker_context.session_factory.begin() as session:
        world = make_world(session, data_root=worker_context.settings.data_root, cases=3)
        image = shell_image(docker_client, COPY_INPUTS)
        sid = world.add_submission(session, docker_client=docker_client, image=image)
    assert evaluate(sid, context=worker_context).status == "succeeded"
    root = worker_context.settings.data_root
    with worker_context.session_factory.begin() as session:  # combined v2 becomes active
        for label_set in session.scalars(select(LabelSet).where(LabelSet.paradigm == "combined")):
            label_set.active = False
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
    reads: list[str] = []
    real = scoring.metrics.read_lesion_modes
    monkeypatch.setattr(
        scoring.metrics,
        "read_lesion_modes",
        lambda path, *, modes: reads.append(str(path)) or real(path, modes=modes),
    )
    context = replace(worker_context, runner=NoContainers())
    assert rescore_phase(world.phase_id, versions=[{"combined": 1}], context=context) == 1
    assert len(reads) == len(world.case_keys)  # three label sets, one read per prediction
    with worker_context.session_factory() as session:
        evaluations = session.scalars(select(Evaluation).order_by(Evaluation.id)).all()
        versions = [
            (e.label_sets["visible"]["version"], e.label_sets["combined"]["version"])
            for e in evaluations
        ]
        assert versions == [(1, 1), (1, 2)]  # v1 overwritten in place, the active one last
        old, new = (
            {(s.case_id, s.paradigm): s.result for s in subs.case_scores(session, e.id)}
            for e in evaluations
        )
    for (case_id, paradigm), result in old.items():
        if paradigm == "visible":
            assert new[(case_id, paradigm)] == result
        else:
            assert result["fn_50"] == 1  # the lesion only the fused v1 label shows
            assert new[(case_id, paradigm)]["fn_50"] == 0
    with pytest.raises(InfrastructureError, match="no label set combined v7"):
        rescore_phase(world.phase_id, versions=[{"combined": 7}], context=context)
