"""What a run needs, read once from the database under the row lock.

:func:`read_plan` is called by :func:`worker.transitions.begin` while it holds
the submission's row; :func:`case_inputs` is shared with re-scoring.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from backend.challenges import repository as challenges
from backend.enums import PhaseKind, ScoringMode
from backend.submissions.models import Submission
from worker.cases import CaseInput, LabelSource
from worker.context import WorkerContext
from worker.runner.base import InfrastructureError, RunLimits


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """Everything a run needs, read under the row lock when it starts."""

    submission_id: int
    attempt: int
    tarball_key: str
    image_digest: str
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
        tarball_key=submission.tarball_path,
        image_digest=submission.image_digest,
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
