"""Re-scoring an interactive submission from its stored per-click predictions (no container).

The predictions are scored again against the task's active label sets; the
clicks are not simulated again: a closed loop's predictions answered the
clicks given at the time, which stay what they were.
"""

from __future__ import annotations

import shutil

from backend.enums import ScoringMode
from backend.interactive.spec import Interaction
from backend.leaderboard import cache
from worker.context import WorkerContext
from worker.interactive.scores import write_interactive_scores
from worker.interactive.stages import lesion_view, score_interactive
from worker.interactive.store import fetch_interactive_predictions
from worker.labelcache import worker_label_cache
from worker.plan import PhaseWork
from worker.scores import write_scores


def rescore_interactive(
    context: WorkerContext, *, submission_id: int, work: PhaseWork, interaction: Interaction
) -> None:
    """Score the stored predictions into the evaluation for the active labels (one transaction).

    Raises
    ------
    InfrastructureError
        A stored prediction, its manifest or a label cannot be fetched.
    """
    workdir = context.settings.scratch_dir / f"rescore-{submission_id}"
    try:
        stored = fetch_interactive_predictions(
            context.storage,
            submission_id=submission_id,
            case_keys=[c.case_key for c in work.cases],
            clicks=interaction.clicks,
            destination=workdir / "predictions",
        )
        results = score_interactive(
            storage=context.storage,
            cases=work.cases,
            labels=work.labels,
            predictions=stored.predictions,
            clicks=interaction.clicks,
            workdir=workdir,
            label_cache=worker_label_cache(context.settings),
        )
        with context.session_factory.begin() as session:
            evaluation_id = write_scores(
                session,
                submission_id,
                labels=work.labels,
                mode=ScoringMode.PAPER,
                cases=work.cases,
                results=lesion_view(results),
            )
            write_interactive_scores(
                session,
                evaluation_id=evaluation_id,
                cases=work.cases,
                results=results,
                click_set_id=stored.click_set_id,
            )
            # Same versions again overwrite scores without a new evaluation, which the
            # boards' fingerprint would miss.
            cache.leaderboard_changed(session, phase_id=work.phase.id)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
