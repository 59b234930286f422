"""The guarded transitions of a submission row (see :mod:`worker.evaluation`).

Each function is one short transaction that locks the row and acts only if
the state and the attempt number are the ones the caller expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.orm import Session

from backend.audit import repository as audit
from backend.challenges import repository as challenges
from backend.db import utcnow
from backend.enums import TERMINAL_STATUSES, PhaseKind, ScoringMode, SubmissionStatus
from backend.submissions import repository as submissions
from backend.submissions.images import ImageToRun, image_to_run
from backend.submissions.models import Submission
from scoring.results import CaseResult
from worker.config import WorkerSettings
from worker.context import WorkerContext
from worker.pipeline import CaseInput, LabelSource, Timings, scorer_version
from worker.runner.base import InfrastructureError, RunLimits, SubmissionFailure

log = structlog.get_logger(__name__)

STARTABLE = frozenset(
    {
        SubmissionStatus.RECEIVED,
        SubmissionStatus.QUEUED,
        SubmissionStatus.PREFLIGHT,
        SubmissionStatus.RUNNING,
        SubmissionStatus.SCORING,
    }
)


#: States of a run in progress; its worker refreshes ``updated_at`` as a heartbeat.
IN_PROGRESS = frozenset(
    {SubmissionStatus.PREFLIGHT, SubmissionStatus.RUNNING, SubmissionStatus.SCORING}
)

#: What :func:`begin` returns when a live worker holds the submission.
BUSY = "busy"


def audit_recovery(
    session: Session,
    submission: Submission,
    *,
    action: str,
    before: tuple[SubmissionStatus, int],
    reason: str,
) -> None:
    """Record a retry or recovery of ``submission`` in the audit log (actor: the system).

    ``before`` is the (status, attempt) the row had; the row itself holds the after.
    """
    audit.record(
        session,
        actor_id=None,
        action=action,
        target_type="submission",
        target_id=submission.id,
        before={"status": before[0].value, "attempt": before[1]},
        after={
            "status": submission.status.value,
            "attempt": submission.attempt,
            "reason": reason[-1000:],
        },
    )


def heartbeat_stale(submission: Submission, *, grace_s: float, now: datetime | None = None) -> bool:
    """Whether the worker running ``submission`` has been silent for ``grace_s``."""
    now = now or utcnow()
    return submission.updated_at < now - timedelta(seconds=grace_s)


def heartbeat(context: WorkerContext, plan: Plan) -> bool:
    """Refresh the row's ``updated_at`` if this attempt still owns it."""
    with context.session_factory.begin() as session:
        submission = submissions.get_submission_for_update(session, plan.submission_id)
        if submission is None or submission.attempt != plan.attempt:
            return False
        if submission.status not in IN_PROGRESS:
            return False
        submission.updated_at = utcnow()
        return True


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Everything a run needs, read under the row lock when it starts."""

    submission_id: int
    attempt: int
    image: ImageToRun
    limits: RunLimits
    cases: tuple[CaseInput, ...]
    sample_cases: tuple[CaseInput, ...]
    labels: dict[str, LabelSource]
    preflight: bool
    mode: ScoringMode
    gpu: bool = False
    container_prefix: str = "podium"

    def container_name(self, attempt: int | None = None, *, preflight: bool = False) -> str:
        """``{prefix}-sub-{id}-{attempt}`` (``-preflight`` for the pre-flight run)."""
        name = f"{self.container_prefix}-sub-{self.submission_id}-{attempt or self.attempt}"
        return f"{name}-preflight" if preflight else name

    def earlier_containers(self) -> tuple[str, ...]:
        """Names earlier attempts may have left running."""
        return tuple(
            self.container_name(a, preflight=p)
            for a in range(1, self.attempt)
            for p in (False, True)
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a call ended: the status it left, and a retry delay for infrastructure faults."""

    status: str
    retry_in: float | None = None
    timings: Timings | None = None


def case_inputs(cases: list[object]) -> tuple[CaseInput, ...]:
    return tuple(
        CaseInput(case_pk=c.id, case_key=c.case_key, input_keys=tuple(c.input_paths))  # type: ignore[attr-defined]
        for c in cases
    )


def read_plan(session: Session, submission: Submission, context: WorkerContext) -> Plan:
    found = challenges.phase_context(session, submission.phase_id)
    if found is None:
        raise InfrastructureError(f"phase {submission.phase_id} of the submission is gone")
    phase, task, _ = found
    labels = {
        paradigm: LabelSource(
            paradigm=paradigm,
            label_set_id=ls.id,
            version=ls.version,
            sha256=ls.sha256,
            storage_path=ls.storage_path,
        )
        for paradigm, ls in challenges.active_label_sets(session, task.id).items()
        if paradigm in task.paradigms
    }
    missing = [p for p in task.paradigms if p not in labels]
    if missing:
        raise InfrastructureError(f"task {task.slug} has no active label set for {missing}")
    return Plan(
        submission_id=submission.id,
        attempt=submission.attempt,
        image=image_to_run(submission),
        limits=context.settings.limits(
            time_limit_s=phase.time_limit_s, memory_limit_mb=phase.memory_limit_mb
        ),
        cases=case_inputs(list(challenges.list_cases(session, phase_id=phase.id, sample=False))),
        sample_cases=case_inputs(
            list(challenges.list_cases(session, phase_id=phase.id, sample=True))
        ),
        labels=labels,
        preflight=phase.kind == PhaseKind.FINAL,
        gpu=phase.gpu,
        mode=ScoringMode.PAPER,
        container_prefix=context.settings.container_prefix,
    )


def begin(context: WorkerContext, submission_id: int) -> Plan | Outcome | str:
    """Lock, check, count the attempt and enter the first running state."""
    with context.session_factory.begin() as session:
        submission = submissions.get_submission_for_update(session, submission_id)
        if submission is None:
            return "missing"
        if submission.status not in STARTABLE:
            return submission.status.value
        if submission.status in IN_PROGRESS and not heartbeat_stale(
            submission, grace_s=context.settings.takeover_after_s
        ):
            # Another worker may still be running it (a duplicate delivery); only
            # a silent heartbeat says its worker is gone.
            return BUSY
        before = (submission.status, submission.attempt)
        if submission.attempt >= context.settings.max_attempts:
            submissions.set_status(
                session,
                submission,
                status=SubmissionStatus.ERROR,
                failure_class="worker_lost",
                message="The evaluation was interrupted repeatedly on our side; your "
                "submission slot has been refunded. Please submit again.",
            )
            audit_recovery(
                session,
                submission,
                action="submission.error",
                before=before,
                reason="its worker was lost on the last allowed attempt",
            )
            return submission.status.value
        submissions.increment_attempt(session, submission)
        if before[0] in IN_PROGRESS:
            # Only a silent heartbeat gets here: the previous attempt's worker is gone.
            audit_recovery(
                session,
                submission,
                action="submission.recovered",
                before=before,
                reason="the worker of the previous attempt went silent; taken over",
            )
        try:
            plan = read_plan(session, submission, context)
        except InfrastructureError as exc:  # e.g. a paradigm without an active label set
            return record_fault(session, submission, settings=context.settings, exc=exc)
        first = SubmissionStatus.PREFLIGHT if plan.preflight else SubmissionStatus.RUNNING
        submissions.set_status(session, submission, status=first)
        return plan


def transition(
    context: WorkerContext,
    plan: Plan,
    *,
    expect: SubmissionStatus,
    to: SubmissionStatus,
    failure: SubmissionFailure | None = None,
    message: str | None = None,
    log_tail: str | None = None,
) -> bool:
    """Move the row ``expect`` -> ``to`` if it is still this attempt's; else ``False``."""
    with context.session_factory.begin() as session:
        submission = submissions.get_submission_for_update(session, plan.submission_id)
        if submission is None or submission.attempt != plan.attempt or submission.status != expect:
            log.info("evaluation.superseded", submission=plan.submission_id, attempt=plan.attempt)
            return False
        submissions.set_status(
            session,
            submission,
            status=to,
            failure_class=failure.kind if failure else None,
            message=failure.message if failure else message,
            log_tail=failure.log if failure and failure.log else log_tail,
        )
        return True


def persist(
    context: WorkerContext,
    plan: Plan,
    *,
    results: dict[tuple[str, str], CaseResult],
    message: str,
    log_tail: str,
) -> bool:
    """Scores and ``succeeded`` in one transaction, if this attempt still owns the row."""
    with context.session_factory.begin() as session:
        submission = submissions.get_submission_for_update(session, plan.submission_id)
        if (
            submission is None
            or submission.attempt != plan.attempt
            or submission.status != SubmissionStatus.SCORING
        ):
            return False
        write_scores(
            session,
            plan.submission_id,
            labels=plan.labels,
            mode=plan.mode,
            cases=plan.cases,
            results=results,
        )
        submissions.set_status(
            session,
            submission,
            status=SubmissionStatus.SUCCEEDED,
            message=message,
            log_tail=log_tail,
            failure_class="",
        )
        return True


def write_scores(
    session: Session,
    submission_id: int,
    *,
    labels: dict[str, LabelSource],
    mode: ScoringMode,
    cases: tuple[CaseInput, ...],
    results: dict[tuple[str, str], CaseResult],
) -> int:
    """Upsert CaseScores into the submission's evaluation for these label sets.

    The evaluation is found by (label sets, scorer version, mode) or created,
    so a repeated run or re-scoring overwrites rather than duplicates.
    """
    described = {p: label.describe() for p, label in sorted(labels.items())}
    version = scorer_version()
    evaluation = submissions.latest_evaluation(session, submission_id)
    if evaluation is None or (
        evaluation.label_sets,
        evaluation.scorer_version,
        evaluation.mode,
    ) != (
        described,
        version,
        mode,
    ):
        evaluation = submissions.create_evaluation(
            session,
            submission_id=submission_id,
            label_sets=described,
            scorer_version=version,
            mode=mode,
        )
    pk = {c.case_key: c.case_pk for c in cases}
    for (case_key, paradigm), result in sorted(results.items()):
        submissions.upsert_case_score(
            session,
            evaluation_id=evaluation.id,
            case_id=pk[case_key],
            paradigm=paradigm,
            result=result.to_dict(),
        )
    return evaluation.id


def record_fault(
    session: Session, submission: Submission, *, settings: WorkerSettings, exc: Exception
) -> Outcome:
    """Requeue for a retry with backoff, or ``error`` (refunded) after the last attempt."""
    attempt = submission.attempt
    before = (submission.status, attempt)
    last = attempt >= settings.max_attempts
    message = (
        "The evaluation failed on our side and was not charged to you (your slot is "
        "refunded); the organisers have been told."
        if last
        else f"Retrying after a fault on our side (attempt {attempt})."
    )
    submissions.set_status(
        session,
        submission,
        status=SubmissionStatus.ERROR if last else SubmissionStatus.QUEUED,
        message=message,
        failure_class="infrastructure",
        log_tail=str(exc)[-4000:],
    )
    audit_recovery(
        session,
        submission,
        action="submission.error" if last else "submission.retry",
        before=before,
        reason=f"infrastructure fault: {exc}",
    )
    log.warning(
        "evaluation.infrastructure_fault",
        submission=submission.id,
        attempt=attempt,
        error=str(exc),
        final=last,
    )
    if last:
        return Outcome(status=SubmissionStatus.ERROR.value)
    return Outcome(
        status=SubmissionStatus.QUEUED.value,
        retry_in=settings.retry_backoff_s * 2 ** (attempt - 1),
    )


def infrastructure_fault(context: WorkerContext, plan: Plan, exc: Exception) -> Outcome:
    """:func:`record_fault` for a run in progress, if this attempt still owns the row."""
    with context.session_factory.begin() as session:
        submission = submissions.get_submission_for_update(session, plan.submission_id)
        if submission is None or submission.attempt != plan.attempt:
            return Outcome(status="superseded")
        if submission.status in TERMINAL_STATUSES:
            return Outcome(status=submission.status.value)
        return record_fault(session, submission, settings=context.settings, exc=exc)
