"""An interactive phase's part of an evaluation attempt: pre-flight, run, score, persist.

Called by :mod:`worker.evaluation` in place of its own stages when the plan has
an interaction; the guards (states, attempt numbers, refunds) are the same
:mod:`worker.transitions` calls, so an interactive run is exactly-once and
classified like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import structlog
from sqlalchemy.orm import Session

from backend.enums import SubmissionStatus
from backend.interactive.spec import Interaction
from scoring.labelcase import LabelCase
from worker.cases import CaseInput
from worker.context import WorkerContext
from worker.faultpoints import pause_point
from worker.interactive.labels import prepared_labels
from worker.interactive.scores import write_interactive_scores
from worker.interactive.stages import (
    InteractiveRun,
    lesion_view,
    run_interactive,
    score_interactive,
    summary,
    usable_failure,
)
from worker.interactive.store import store_interactive_predictions
from worker.labelcache import worker_label_cache
from worker.pipeline import label_keys
from worker.plan import Plan
from worker.runner.base import ImageRef, InfrastructureError, SubmissionFailure
from worker.timings import Timings
from worker.transitions import persist, transition

log = structlog.get_logger(__name__)

#: ``fail(context, plan, expect=..., failure=...)``: end the attempt with the team's failure.
Fail = Callable[..., None]


def _interaction(plan: Plan) -> Interaction:
    if plan.interaction is None:  # pragma: no cover - callers check
        raise ValueError("not an interactive plan")
    return plan.interaction


def _click_labels(
    context: WorkerContext, plan: Plan, cases: Sequence[CaseInput], workdir: Path
) -> dict[str, LabelCase]:
    interaction = _interaction(plan)
    label = plan.labels.get(interaction.paradigm)
    if label is None:
        raise InfrastructureError(
            f"the phase's clicks come from paradigm {interaction.paradigm!r}, which the task "
            f"has no active label set for"
        )
    return prepared_labels(
        context.storage,
        cases,
        label,
        workdir=workdir,
        label_cache=worker_label_cache(context.settings),
    )


def _run(
    context: WorkerContext,
    plan: Plan,
    image: ImageRef,
    *,
    cases: Sequence[CaseInput],
    workdir: Path,
    preflight: bool,
    timings: Timings | None = None,
) -> InteractiveRun:
    interaction = _interaction(plan)
    run = run_interactive(
        runner=context.runner,
        image=image,
        storage=context.storage,
        cases=cases,
        labels=_click_labels(context, plan, cases, workdir),
        interaction=interaction,
        workdir=workdir / "run",
        name=plan.container_name(preflight=preflight),
        limits=plan.limits,
        click_files=plan.click_files,
        gpus=context.settings.gpu_ids if plan.gpu else (),
        replaces=plan.earlier_containers(),
        timings=timings,
        contract=plan.contract,
    )
    for note in run.notes:
        log.warning("interactive.click_files", submission=plan.submission_id, note=note)
    return run


def preflight(context: WorkerContext, plan: Plan, image: ImageRef, workdir: Path) -> None:
    """Run on the sample cases that have a label to take clicks from; any unusable step fails.

    Raises
    ------
    SubmissionFailure
        ``preflight_outputs`` (or the run's own failure) with what was wrong.
    """
    interaction = _interaction(plan)
    click_label = plan.labels.get(interaction.paradigm)
    if click_label is None:
        return
    labelled = set(label_keys(context.storage, click_label))
    samples = [c for c in plan.sample_cases if c.case_key in labelled]
    if not samples:
        return
    workdir = workdir / "preflight"
    run = _run(context, plan, image, cases=samples, workdir=workdir, preflight=True)
    keys = {c.case_key for c in samples}
    results = score_interactive(
        storage=context.storage,
        cases=samples,
        labels={
            p: label
            for p, label in plan.labels.items()
            if keys <= set(label_keys(context.storage, label))
        },
        predictions=run.predictions,
        clicks=interaction.clicks,
        workdir=workdir,
        label_cache=worker_label_cache(context.settings),
    )
    problems = list(
        dict.fromkeys(e for r in results.values() if r.status != "ok" for e in r.errors)
    )
    if problems:
        raise SubmissionFailure(
            "preflight_outputs",
            "Pre-flight on the public sample case(s): "
            + " ".join([*problems[:30], *run.problems[:20]]),
            log=run.result.log,
        )


def execute(
    context: WorkerContext,
    plan: Plan,
    image: ImageRef,
    workdir: Path,
    timings: Timings,
    *,
    fail: Fail,
) -> None:
    """The hidden cases: run (state ``running``), then ``scoring`` and the scores persisted."""
    interaction = _interaction(plan)
    try:
        run = _run(
            context,
            plan,
            image,
            cases=plan.cases,
            workdir=workdir,
            preflight=False,
            timings=timings,
        )
    except SubmissionFailure as failure:
        fail(context, plan, expect=SubmissionStatus.RUNNING, failure=failure)
        return
    if not transition(context, plan, expect=SubmissionStatus.RUNNING, to=SubmissionStatus.SCORING):
        return
    click_set_id = (
        plan.click_files.click_set_id
        if plan.click_files is not None and interaction.click_source == "uploaded"
        else None
    )
    with timings.stage("collect"):
        store_interactive_predictions(
            context.storage,
            submission_id=plan.submission_id,
            predictions=run.predictions,
            click_set_id=click_set_id,
        )
    pause_point("scoring", submission_id=plan.submission_id, attempt=plan.attempt)
    with timings.stage("score"):
        results = score_interactive(
            storage=context.storage,
            cases=plan.cases,
            labels=plan.labels,
            predictions=run.predictions,
            clicks=interaction.clicks,
            workdir=workdir,
            label_cache=worker_label_cache(context.settings),
        )
    unusable = usable_failure(results, log=run.result.log)
    if unusable is not None:
        fail(context, plan, expect=SubmissionStatus.SCORING, failure=unusable)
        return

    def also(session: Session, evaluation_id: int) -> None:
        write_interactive_scores(
            session,
            evaluation_id=evaluation_id,
            cases=plan.cases,
            results=results,
            click_set_id=click_set_id,
        )

    pause_point("persist", submission_id=plan.submission_id, attempt=plan.attempt)
    with timings.stage("persist"):
        persist(
            context,
            plan,
            results=lesion_view(results),
            log_tail=run.result.log,
            message=summary(results, run.problems, interaction.clicks),
            also=also,
        )
