"""Re-scoring against a new label-set version from the stored predictions.

No container runs: the predictions kept at the first evaluation are scored
against the task's currently active label sets, into a new evaluation tagged
with those versions (or the existing one for the same versions, overwritten).
"""

from __future__ import annotations

import shutil

import structlog

from backend.challenges import repository as challenges
from backend.enums import ScoringMode, SubmissionStatus
from backend.leaderboard import cache
from backend.submissions import repository as submissions
from worker.cases import LabelSource
from worker.context import WorkerContext, get_context
from worker.labelcache import LabelCache
from worker.pipeline import fetch_predictions, score_predictions
from worker.plan import case_inputs
from worker.runner.base import InfrastructureError
from worker.scores import write_scores

log = structlog.get_logger(__name__)


def rescore_phase(phase_id: int, *, context: WorkerContext | None = None) -> int:
    """Re-score every succeeded submission of a phase; returns how many were scored.

    Raises
    ------
    InfrastructureError
        The phase is gone, a paradigm has no active label set, or a stored
        prediction or label cannot be fetched.
    """
    context = context or get_context()
    with context.session_factory() as session:
        found = challenges.phase_context(session, phase_id)
        if found is None:
            raise InfrastructureError(f"phase {phase_id} does not exist")
        phase, task, _ = found
        active = challenges.active_label_sets(session, task.id)
        missing = [p for p in task.paradigms if p not in active]
        if missing:
            raise InfrastructureError(f"task {task.slug} has no active label set for {missing}")
        labels = {
            p: LabelSource(
                paradigm=p,
                label_set_id=ls.id,
                version=ls.version,
                sha256=ls.sha256,
                storage_path=ls.storage_path,
            )
            for p, ls in active.items()
            if p in task.paradigms
        }
        cases = case_inputs(list(challenges.list_cases(session, phase_id=phase.id, sample=False)))
        ids = [
            s.id
            for s in submissions.list_phase_submissions(
                session, phase_id=phase.id, statuses=[SubmissionStatus.SUCCEEDED]
            )
        ]
    for submission_id in ids:
        workdir = context.settings.scratch_dir / f"rescore-{submission_id}"
        try:
            predictions = fetch_predictions(
                context.storage,
                submission_id=submission_id,
                case_keys=[c.case_key for c in cases],
                destination=workdir / "predictions",
            )
            results = score_predictions(
                storage=context.storage,
                cases=cases,
                labels=labels,
                predictions=predictions,
                rejected={},
                workdir=workdir,
                label_cache=LabelCache(context.settings.scratch_dir / "label-cache"),
            )
            with context.session_factory.begin() as session:
                write_scores(
                    session,
                    submission_id,
                    labels=labels,
                    mode=ScoringMode.PAPER,
                    cases=cases,
                    results=results,
                )
                # Same versions again overwrite scores without a new evaluation, which the
                # boards' fingerprint would miss.
                cache.leaderboard_changed(session, phase_id=phase_id)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        log.info("rescore.done", submission=submission_id, phase=phase_id)
    return len(ids)
