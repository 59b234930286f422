"""``evaluate_submission`` as a guarded state machine over the submission row.

Each step that changes the row is a short transaction that locks it, checks
the state *and the attempt number* it expects, and returns quietly when either
differs. The attempt number is a fencing token: every run (first delivery,
redelivery after a lost worker, retry after an infrastructure fault) takes the
next number under the lock, names its containers ``podium-sub-{id}-{attempt}``
and removes the containers of earlier attempts; an older run that is still
going finds its number superseded at its next step and drops its results. The
scores are written in the same transaction that marks the submission
succeeded, into the one evaluation for (label sets, scorer version, mode) with
``upsert``: running the task twice, or again after a crash, leaves one set.

    queued ─▶ [preflight ─▶] running ─▶ scoring ─▶ succeeded
                   │             │          │
                   ▼             ▼          ▼
           failed_preflight   failed    failed / error (after retries; refunded)
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import structlog

from backend.enums import SubmissionStatus
from backend.storage import Storage
from backend.submissions import repository as submissions
from backend.submissions.lifecycle import FINISHED
from scoring.results import CaseResult
from worker.context import WorkerContext, get_context, host_facts
from worker.faultpoints import pause_point
from worker.host import refuse_if_unfit
from worker.images import image_store
from worker.interactive import attempt as interactive
from worker.labelcache import worker_label_cache
from worker.pipeline import (
    discard_predictions,
    label_keys,
    run_cases,
    score_predictions,
    store_predictions,
    usable_failure,
)
from worker.plan import Plan
from worker.prefetch import prefetcher
from worker.runner.base import ImageRef, InfrastructureError, SubmissionFailure
from worker.timings import Timings
from worker.transitions import (
    Outcome,
    begin,
    heartbeat,
    infrastructure_fault,
    persist,
    transition,
)
from worker.uploaded import is_uploaded, score_uploaded

log = structlog.get_logger(__name__)

#: Endings without scores: nothing of their runs is kept.
_UNSCORED = frozenset(s.value for s in FINISHED - {SubmissionStatus.SUCCEEDED})


def _summary(results: dict[tuple[str, str], CaseResult], problems: list[str]) -> str:
    scored = {k for (k, _), r in results.items() if r.status == "ok"}
    cases = {k for k, _ in results}
    text = f"Scored {len(scored)} of {len(cases)} cases."
    if problems:
        text += " Problems with the outputs: " + " ".join(problems[:50])
    return text


def _preflight(context: WorkerContext, plan: Plan, image: ImageRef, workdir: Path) -> None:
    """Run on the sample cases; any crash or unusable sample output fails pre-flight."""
    if plan.interaction is not None:
        interactive.preflight(context, plan, image, workdir)
        return
    if not plan.sample_cases:
        return
    outcome = run_cases(
        runner=context.runner,
        image=image,
        storage=prefetcher(context).staging_storage(),
        cases=plan.sample_cases,
        workdir=workdir / "preflight",
        name=plan.container_name(preflight=True),
        limits=plan.limits,
        gpus=context.settings.gpu_ids if plan.gpu else (),
        replaces=plan.earlier_containers(),
        contract=plan.contract,
    )
    collected = outcome.collected
    unusable = sorted(
        set(collected.rejected) | set(collected.missing(c.case_key for c in plan.sample_cases))
    )
    if unusable:
        raise SubmissionFailure(
            "preflight_outputs",
            f"Pre-flight on the public sample case(s) found unusable outputs for "
            f"{unusable}: " + " ".join(collected.problems[:50]),
            log=outcome.result.log,
        )
    with_labels = {
        p: label
        for p, label in plan.labels.items()
        if {c.case_key for c in plan.sample_cases} <= set(label_keys(context.storage, label))
    }
    results = score_predictions(
        storage=context.storage,
        cases=plan.sample_cases,
        labels=with_labels,
        predictions=collected.files,
        rejected=collected.rejected,
        workdir=workdir / "preflight",
        mode=plan.mode.value,
        label_cache=worker_label_cache(context.settings),
    )
    invalid = sorted({e for r in results.values() if r.status != "ok" for e in r.errors})
    if invalid:
        raise SubmissionFailure(
            "preflight_outputs",
            "Pre-flight on the public sample case(s): " + " ".join(invalid),
            log=outcome.result.log,
        )


def _fail(
    context: WorkerContext, plan: Plan, *, expect: SubmissionStatus, failure: SubmissionFailure
) -> None:
    """End the attempt with the team's failure, if it still owns the row.

    Before the hidden cases ran (``expect`` is ``preflight``) it is a failed
    pre-flight and the slot comes back; afterwards the slot is spent.
    """
    if expect == SubmissionStatus.PREFLIGHT:
        failure.message = (
            "Pre-flight failed, so the hidden test set was not run and your slot is refunded. "
            + failure.message
        )
        transition(
            context, plan, expect=expect, to=SubmissionStatus.FAILED_PREFLIGHT, failure=failure
        )
    else:
        transition(context, plan, expect=expect, to=SubmissionStatus.FAILED, failure=failure)


def _run_and_score(
    context: WorkerContext,
    plan: Plan,
    image: ImageRef,
    workdir: Path,
    timings: Timings,
    *,
    inputs: Storage,
) -> None:
    """The hidden cases: run (state ``running``), then ``scoring`` and the scores persisted.

    ``inputs`` is where the cases' inputs are staged from (the prefetched copies first).
    """
    try:
        outcome = run_cases(
            runner=context.runner,
            image=image,
            storage=inputs,
            cases=plan.cases,
            workdir=workdir / "run",
            name=plan.container_name(),
            limits=plan.limits,
            gpus=context.settings.gpu_ids if plan.gpu else (),
            replaces=plan.earlier_containers(),
            timings=timings,
            contract=plan.contract,
        )
    except SubmissionFailure as failure:
        _fail(context, plan, expect=SubmissionStatus.RUNNING, failure=failure)
        return
    if not transition(context, plan, expect=SubmissionStatus.RUNNING, to=SubmissionStatus.SCORING):
        return
    with timings.stage("collect"):
        store_predictions(
            context.storage, submission_id=plan.submission_id, files=outcome.collected.files
        )
    pause_point("scoring", submission_id=plan.submission_id, attempt=plan.attempt)
    with timings.stage("score"):
        results = score_predictions(
            storage=context.storage,
            cases=plan.cases,
            labels=plan.labels,
            predictions=outcome.collected.files,
            rejected=outcome.collected.rejected,
            workdir=workdir,
            mode=plan.mode.value,
            label_cache=worker_label_cache(context.settings),
        )
    unusable = usable_failure(results, log=outcome.result.log)
    if unusable is not None:
        _fail(context, plan, expect=SubmissionStatus.SCORING, failure=unusable)
        return
    pause_point("persist", submission_id=plan.submission_id, attempt=plan.attempt)
    with timings.stage("persist"):
        persist(
            context,
            plan,
            results=results,
            log_tail=outcome.result.log,
            message=_summary(results, outcome.collected.problems),
        )


def _score_uploaded(context: WorkerContext, plan: Plan, timings: Timings) -> None:
    workdir = context.settings.scratch_dir / f"sub-{plan.submission_id}-{plan.attempt}"
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        score_uploaded(context, plan, timings, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _execute(context: WorkerContext, plan: Plan, timings: Timings) -> None:
    # Before anything is staged or started: a GPU phase never runs on CPU here.
    refuse_if_unfit(host_facts(context), needs_gpu=plan.gpu, settings=context.settings)
    workdir = context.settings.scratch_dir / f"sub-{plan.submission_id}-{plan.attempt}"
    workdir.mkdir(parents=True, exist_ok=True)
    first = SubmissionStatus.PREFLIGHT if plan.preflight else SubmissionStatus.RUNNING
    image = None
    images = image_store(context)
    ahead = prefetcher(context)
    try:
        with timings.stage("load"):
            ahead.wait_for(plan.submission_id)  # a prefetch of this run finishes first
            try:
                image = images.acquire(
                    plan.image, workdir=workdir, root_images=plan.contract.root_images
                )
            except SubmissionFailure as failure:  # e.g. it would run as root
                _fail(context, plan, expect=first, failure=failure)
                return
        ahead.start(running=plan)  # ready the next queued run while this one goes on
        if plan.preflight:
            try:
                _preflight(context, plan, image, workdir)
            except SubmissionFailure as failure:
                _fail(context, plan, expect=SubmissionStatus.PREFLIGHT, failure=failure)
                return
            if not transition(
                context, plan, expect=SubmissionStatus.PREFLIGHT, to=SubmissionStatus.RUNNING
            ):
                return
        if plan.interaction is not None:  # its own stages, the same guards
            interactive.execute(context, plan, image, workdir, timings, fail=_fail)
        else:
            _run_and_score(context, plan, image, workdir, timings, inputs=ahead.staging_storage())
    finally:
        if image is not None:
            try:
                images.release(plan.image)
            except InfrastructureError:
                log.warning("evaluation.image_cache_not_trimmed", submission=plan.submission_id)
        shutil.rmtree(workdir, ignore_errors=True)


def _discard_unscored(context: WorkerContext, submission_id: int, status: str) -> None:
    """Once a submission has ended without scores (its message written), drop its predictions.

    Re-scoring reads only succeeded submissions' predictions; a failed or
    errored run's files would be kept for nothing.
    """
    if status not in _UNSCORED:
        return
    try:
        discard_predictions(context.storage, submission_id=submission_id)
    except InfrastructureError as exc:  # the outcome stands; the files are only clutter
        log.warning("evaluation.predictions_not_removed", submission=submission_id, error=str(exc))


def _beat(context: WorkerContext, plan: Plan, stop: threading.Event) -> None:
    """Refresh the heartbeat until ``stop``; a database hiccup only skips a beat."""
    while not stop.wait(context.settings.heartbeat_s):
        try:
            heartbeat(context, plan)
        except Exception:
            log.warning("evaluation.heartbeat_failed", submission=plan.submission_id)


def evaluate(submission_id: int, *, context: WorkerContext | None = None) -> Outcome:
    """Run one attempt of a submission's evaluation; safe to call any number of times.

    Returns
    -------
    Outcome
        The status the row was left in (or why nothing was done), and when an
        infrastructure fault asks for a retry, the delay before it.
    """
    context = context or get_context()
    begun = begin(context, submission_id)
    if isinstance(begun, Outcome):
        # Nothing to run: finished already, missing, busy, or a fault recorded.
        log.info("evaluation.skipped", submission=submission_id, status=begun.status)
        return begun
    plan, timings = begun.plan, Timings()
    log.info("evaluation.started", submission=submission_id, attempt=plan.attempt)
    stop = threading.Event()
    beating = threading.Thread(target=_beat, args=(context, plan, stop), daemon=True)
    beating.start()
    fault: Outcome | None = None
    try:
        if is_uploaded(plan):  # a reference entry's predictions: nothing to run
            _score_uploaded(context, plan, timings)
        else:
            _execute(context, plan, timings)
    except InfrastructureError as exc:
        fault = infrastructure_fault(context, plan, exc)
    except Exception as exc:
        # A bug or a lost database: not the team's fault, handled like the engine failing.
        log.exception("evaluation.unexpected_error", submission=submission_id)
        fault = infrastructure_fault(context, plan, exc)
    finally:
        stop.set()
        beating.join()
    if fault is not None:
        _discard_unscored(context, submission_id, fault.status)
        return fault
    with context.session_factory() as session:
        final = submissions.get_submission(session, submission_id)
        status = final.status.value if final is not None else "missing"
    _discard_unscored(context, submission_id, status)
    log.info("evaluation.finished", submission=submission_id, status=status)
    return Outcome(status=status, timings=timings)
