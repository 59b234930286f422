"""Scoring a reference entry's uploaded predictions: the evaluation without a container.

An organiser's reference entry can be a folder of prediction files (an
off-the-shelf model's outputs, a second reader's labels) instead of an image.
Its submission row has no image digest; :func:`worker.evaluation.evaluate`
hands it here after the same guarded start, and it ends the same way: the
predictions kept for re-scoring, scored against the active label sets, scores
and ``succeeded`` written in one transaction (or ``failed`` when not one case
could be scored).
"""

from __future__ import annotations

from pathlib import Path

from backend.enums import SubmissionStatus
from backend.storage import StorageError
from scoring.formats import split_case_name
from worker.context import WorkerContext
from worker.labelcache import worker_label_cache
from worker.pipeline import score_predictions, store_predictions, usable_failure
from worker.plan import Plan
from worker.runner.base import InfrastructureError
from worker.timings import Timings
from worker.transitions import persist, transition


def is_uploaded(plan: Plan) -> bool:
    """Whether the submission is uploaded predictions (no image to run)."""
    return not plan.image.config_digest


def fetch_uploaded(context: WorkerContext, folder: str, destination: Path) -> dict[str, Path]:
    """The uploaded prediction files (case key -> local path)."""
    destination.mkdir(parents=True, exist_ok=True)
    found: dict[str, Path] = {}
    try:
        for key in context.storage.list(folder):
            parts = split_case_name(Path(key).name)
            if parts is None or parts[0] in found:
                continue
            local = destination / Path(key).name
            context.storage.fetch(key, local)
            found[parts[0]] = local
    except StorageError as exc:
        raise InfrastructureError(f"uploaded predictions: {exc}") from exc
    return found


def score_uploaded(context: WorkerContext, plan: Plan, timings: Timings, workdir: Path) -> None:
    """Score the uploaded predictions of a started submission and finish it.

    Raises
    ------
    InfrastructureError
        Storage or labels failed (retried like any evaluation).
    """
    first = SubmissionStatus.PREFLIGHT if plan.preflight else SubmissionStatus.RUNNING
    if not transition(context, plan, expect=first, to=SubmissionStatus.SCORING):
        return
    with timings.stage("collect"):
        folder = plan.image.tarball_key
        assert folder is not None  # uploaded predictions are stored like a tarball
        files = fetch_uploaded(context, folder, workdir / "uploaded")
        store_predictions(context.storage, submission_id=plan.submission_id, files=files)
    with timings.stage("score"):
        results = score_predictions(
            storage=context.storage,
            cases=plan.cases,
            labels=plan.labels,
            predictions=files,
            rejected={},
            workdir=workdir,
            mode=plan.mode.value,
            label_cache=worker_label_cache(context.settings),
        )
    unusable = usable_failure(results)
    if unusable is not None:
        transition(
            context,
            plan,
            expect=SubmissionStatus.SCORING,
            to=SubmissionStatus.FAILED,
            failure=unusable,
        )
        return
    scored = len({k for (k, _), r in results.items() if r.status == "ok"})
    with timings.stage("persist"):
        persist(
            context,
            plan,
            results=results,
            log_tail="",
            message=f"Scored {scored} of {len(plan.cases)} cases from uploaded predictions.",
        )
