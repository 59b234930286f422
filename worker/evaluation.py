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
from backend.submissions import repository as submissions
from scoring.results import CaseResult
from worker.context import WorkerContext, get_context
from worker.faultpoints import pause_point
from worker.labelcache import LabelCache
from worker.pipeline import (
    Timings,
    label_keys,
    run_cases,
    score_predictions,
    store_predictions,
    usable_failure,
)
from worker.runner.base import ImageRef, InfrastructureError, SubmissionFailure
from worker.storage import StorageError
from worker.transitions import (
    BUSY,
    Outcome,
    Plan,
    begin,
    heartbeat,
    infrastructure_fault,
    persist,
    transition,
)
from worker.uploaded import is_uploaded, score_uploaded

log = structlog.get_logger(__name__)


def _summary(results: dict[tuple[str, str], CaseResult], problems: list[str]) -> str:
    scored = {k for (k, _), r in results.items() if r.status == "ok"}
    cases = {k for k, _ in results}
    text = f"Scored {len(scored)} of {len(cases)} cases."
    if problems:
        text += " Problems with the outputs: " + " ".join(problems[:50])
    return text


def _preflight(context: WorkerContext, plan: Plan, image: ImageRef, workdir: Path) -> None:
    """Run on the sample cases; any crash or unusable sample output fails pre-flight."""
    if not plan.sample_cases:
        return
    try:
        outcome = run_cases(
            runner=context.runner,
            image=image,
            storage=context.storage,
            cases=plan.sample_cases,
            workdir=workdir / "preflight",
            name=plan.container_name(preflight=True),
            limits=plan.limits,
            gpus=context.settings.gpu_ids if plan.gpu else (),
            replaces=plan.earlier_containers(),
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
            label_cache=label_cache(context),
        )
        invalid = sorted({e for r in results.values() if r.status != "ok" for e in r.errors})
        if invalid:
            raise SubmissionFailure(
                "preflight_outputs",
                "Pre-flight on the public sample case(s): " + " ".join(invalid),
                log=outcome.result.log,
            )
    except SubmissionFailure as failure:
        failure.message = (
            "Pre-flight failed, so the hidden test set was not run and your slot is refunded. "
            + failure.message
        )
        raise


def label_cache(context: WorkerContext) -> LabelCache:
    """The worker's cache of prepared labels, under its scratch folder."""
    return LabelCache(context.settings.scratch_dir / "label-cache")


def _execute(context: WorkerContext, plan: Plan, timings: Timings) -> None:
    workdir = context.settings.scratch_dir / f"sub-{plan.submission_id}-{plan.attempt}"
    workdir.mkdir(parents=True, exist_ok=True)
    image = None
    try:
        if is_uploaded(plan):  # a reference entry's predictions: nothing to run
            score_uploaded(context, plan, timings, workdir)
            return
        with timings.stage("load"):
            tarball = workdir / "image.tar"
            try:
                context.storage.fetch(plan.tarball_key, tarball)
            except StorageError as exc:
                raise InfrastructureError(f"submission image: {exc}") from exc
            image = context.runner.load_image(tarball, expected_id=plan.image_digest)
        if plan.preflight:
            try:
                _preflight(context, plan, image, workdir)
            except SubmissionFailure as failure:
                transition(
                    context,
                    plan,
                    expect=SubmissionStatus.PREFLIGHT,
                    to=SubmissionStatus.FAILED_PREFLIGHT,
                    failure=failure,
                )
                return
            if not transition(
                context, plan, expect=SubmissionStatus.PREFLIGHT, to=SubmissionStatus.RUNNING
            ):
                return
        try:
            outcome = run_cases(
                runner=context.runner,
                image=image,
                storage=context.storage,
                cases=plan.cases,
                workdir=workdir / "run",
                name=plan.container_name(),
                limits=plan.limits,
                gpus=context.settings.gpu_ids if plan.gpu else (),
                replaces=plan.earlier_containers(),
                timings=timings,
            )
        except SubmissionFailure as failure:
            transition(
                context,
                plan,
                expect=SubmissionStatus.RUNNING,
                to=SubmissionStatus.FAILED,
                failure=failure,
            )
            return
        if not transition(
            context, plan, expect=SubmissionStatus.RUNNING, to=SubmissionStatus.SCORING
        ):
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
                label_cache=label_cache(context),
            )
        unusable = usable_failure(results, log=outcome.result.log)
        if unusable is not None:
            transition(
                context,
                plan,
                expect=SubmissionStatus.SCORING,
                to=SubmissionStatus.FAILED,
                failure=unusable,
            )
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
    finally:
        if image is not None:
            try:
                context.runner.remove_image(image)
            except InfrastructureError:
                log.warning("evaluation.image_not_removed", submission=plan.submission_id)
        shutil.rmtree(workdir, ignore_errors=True)


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
        return begun  # could not start; recorded as an infrastructure fault
    if begun == BUSY:
        log.info("evaluation.busy", submission=submission_id)
        return Outcome(status=BUSY, retry_in=context.settings.takeover_after_s)
    if isinstance(begun, str):
        log.info("evaluation.skipped", submission=submission_id, status=begun)
        return Outcome(status=begun)
    plan, timings = begun, Timings()
    log.info("evaluation.started", submission=submission_id, attempt=plan.attempt)
    stop = threading.Event()
    beating = threading.Thread(target=_beat, args=(context, plan, stop), daemon=True)
    beating.start()
    try:
        _execute(context, plan, timings)
    except InfrastructureError as exc:
        return infrastructure_fault(context, plan, exc)
    except Exception as exc:
        # A bug or a lost database: not the team's fault, handled like the engine failing.
        log.exception("evaluation.unexpected_error", submission=submission_id)
        return infrastructure_fault(context, plan, exc)
    finally:
        stop.set()
        beating.join()
    with context.session_factory() as session:
        final = submissions.get_submission(session, submission_id)
        status = final.status.value if final is not None else "missing"
    log.info("evaluation.finished", submission=submission_id, status=status)
    return Outcome(status=status, timings=timings)
