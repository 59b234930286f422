"""A reference entry's uploaded predictions scored by the worker: no image, no container;
then re-scored with the phase like any submission, and ranked on the board."""

from __future__ import annotations

import io
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from backend.auth.models import User
from backend.challenges.archives import unpack_case_files
from backend.challenges.models import LabelSet
from backend.enums import Role
from backend.jobs import RecordingJobQueue, bind_queue
from backend.leaderboard.rules import RankingRules
from backend.leaderboard.service import get_board
from backend.references import service as references
from backend.references.schemas import ReferenceIn
from backend.submissions import repository as subs
from backend.submissions.models import Evaluation
from tests.support.world import lesion_mask, make_world, write_mask
from tests.worker.test_rescore_reaper import NoContainers
from worker.evaluation import evaluate
from worker.rescoring import rescore_phase

pytestmark = [pytest.mark.docker, pytest.mark.postgres]


def _archive(tmp_path: Path, masks: dict[str, object]) -> Path:
    folder = tmp_path / "reader"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for key, mask in masks.items():
            path = folder / f"{key}.nii.gz"
            write_mask(path, mask)  # type: ignore[arg-type]
            tar.add(path, arcname=path.name)
    archive = tmp_path / "reader.tar.gz"
    archive.write_bytes(buffer.getvalue())
    return archive


def test_uploaded_predictions_are_scored_without_a_container(worker_context, tmp_path):
    root = worker_context.settings.data_root
    with worker_context.session_factory.begin() as session:
        world = make_world(session, data_root=root, cases=3)
        organiser = User(
            email="org@example.org", display_name="Org", password_hash="!", role=Role.ORGANISER
        )
        session.add(organiser)
        session.flush()
        # The second reader agrees on case 0 and 1 and draws nothing on case 2.
        masks = {k: lesion_mask(i) for i, k in enumerate(world.case_keys[:2])}
        files = unpack_case_files(_archive(tmp_path, masks), tmp_path / "unpacked")
        bind_queue(session, RecordingJobQueue())
        entry = references.add_predictions(
            session,
            phase_id=world.phase_id,
            spec=ReferenceIn(name="Reader 2", kind="human"),
            files=files,
            archive_sha256="ab" * 32,
            storage=worker_context.storage,
            queue="evaluation",
            actor=organiser,
        )
        sid = entry.submission_id
        phase_id = world.phase_id
    context = replace(worker_context, runner=NoContainers())
    outcome = evaluate(sid, context=context)
    assert outcome.status == "succeeded"
    with worker_context.session_factory() as session:
        sub = subs.get_submission(session, sid)
        assert sub is not None
        assert sub.message == "Scored 2 of 3 cases from uploaded predictions."
        evaluation = subs.latest_evaluation(session, sid)
        assert evaluation is not None
        scores = {
            (s.case_id, s.paradigm): s.result for s in subs.case_scores(session, evaluation.id)
        }
        assert len(scores) == 6
        visible = [r for (_, p), r in sorted(scores.items()) if p == "visible"]
        assert [r["status"] for r in visible] == ["ok", "ok", "missing"]
        assert visible[0]["dice"] == 1.0
        assert visible[0]["ref_lesion_detected"] == [True, True]
    # Kept as predictions: a phase re-score covers the reference entry too.
    assert sorted(p.name for p in (root / f"predictions/{sid}").iterdir()) == [
        "case_000.nii.gz",
        "case_001.nii.gz",
    ]
    with worker_context.session_factory.begin() as session:
        for label_set in session.scalars(select(LabelSet).where(LabelSet.paradigm == "visible")):
            label_set.active = False
        session.flush()
        session.add(
            LabelSet(
                task_id=world.task_id,
                paradigm="visible",
                version=2,
                sha256="visible-v2",
                active=True,
                storage_path=f"labels/{world.task_id}/visible/v2",
            )
        )
    for index, key in enumerate(world.case_keys):
        write_mask(root / f"labels/{world.task_id}/visible/v2/{key}.nii.gz", lesion_mask(index))
    assert rescore_phase(phase_id, context=context) == 1
    with worker_context.session_factory() as session:
        versions = [
            e.label_sets["visible"]["version"]
            for e in session.scalars(
                select(Evaluation).where(Evaluation.submission_id == sid).order_by(Evaluation.id)
            )
        ]
        assert versions == [1, 2]
        (listed,) = references.list_references(session, phase_id=phase_id)
        latest = subs.latest_evaluation(session, sid)
        assert latest is not None
        assert (listed.status, listed.evaluation_id) == ("succeeded", latest.id)
        # A board needs a team to rank; a reference entry alone does not make one.
        board = get_board(session, phase_id=phase_id, user=organiser, view="organisers")
        assert board.rules == RankingRules()
        assert board.rows == []
        assert board.notes == ["no succeeded submission yet"]
