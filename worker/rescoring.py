"""Re-scoring against a new label-set version from the stored predictions.

No container runs: the predictions kept at the first evaluation are scored
against the task's currently active label sets, into a new evaluation tagged
with those versions (or the existing one for the same versions, overwritten).
"""

from __future__ import annotations

import shutil

import structlog

from backend.enums import ScoringMode, SubmissionStatus
from backend.interactive.spec import interaction_of
from backend.leaderboard import cache
from backend.submissions import repository as submissions
from worker.context import WorkerContext, get_context
from worker.interactive.rescore import rescore_interactive
from worker.labelcache import worker_label_cache
from worker.pipeline import fetch_predictions, score_predictions
from worker.plan import phase_work
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
        work = phase_work(session, phase_id)
        cases, labels = work.cases, work.labels
        ids = [
            s.id
            for s in submissions.list_phase_submissions(
                session, phase_id=phase_id, statuses=[SubmissionStatus.SUCCEEDED]
            )
        ]
    interaction = interaction_of(work.phase.interaction)
    for submission_id in ids:
        if interaction is not None:  # per-click predictions, scored as such
            rescore_interactive(
                context, submission_id=submission_id, work=work, interaction=interaction
            )
            log.info("rescore.done", submission=submission_id, phase=phase_id)
            continue
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
                label_cache=worker_label_cache(context.settings),
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
