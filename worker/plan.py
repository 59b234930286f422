"""What a run needs, read once from the database under the row lock.

:func:`read_plan` is called by :func:`worker.transitions.begin` while it holds
the submission's row; :func:`phase_work` (the cases and active labels of a
phase) is shared with re-scoring.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from backend.challenges import repository as challenges
from backend.challenges.contract import RunContract, effective_contract
from backend.challenges.models import Case, LabelSet, Phase
from backend.enums import PhaseKind, ScoringMode
from backend.interactive import repository as interactive
from backend.interactive.spec import Interaction, interaction_of
from backend.submissions.images import ImageToRun, image_to_run
from backend.submissions.models import Submission
from worker.cases import CaseInput, ClickFileSource, LabelSource
from worker.config import WorkerSettings
from worker.runner.base import InfrastructureError, RunLimits


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
    contract: RunContract = field(default_factory=RunContract)
    #: An interactive phase's settings (``None``: not interactive) and uploaded click files.
    interaction: Interaction | None = None
    click_files: ClickFileSource | None = None

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


def case_inputs(cases: Iterable[Case]) -> tuple[CaseInput, ...]:
    """The cases as the pipeline takes them."""
    return tuple(
        CaseInput(case_pk=c.id, case_key=c.case_key, input_keys=tuple(c.input_paths)) for c in cases
    )


def label_source(label_set: LabelSet) -> LabelSource:
    """A label set as the pipeline fetches it."""
    return LabelSource(
        paradigm=label_set.paradigm,
        label_set_id=label_set.id,
        version=label_set.version,
        sha256=label_set.sha256,
        storage_path=label_set.storage_path,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PhaseWork:
    """What every evaluation of a phase works on: its cases and the active labels."""

    phase: Phase
    cases: tuple[CaseInput, ...]
    sample_cases: tuple[CaseInput, ...]
    labels: dict[str, LabelSource]


def phase_work(session: Session, phase_id: int) -> PhaseWork:
    """The phase's hidden and sample cases and its task's active label set per paradigm.

    Shared by a run (:func:`read_plan`) and re-scoring, so both score against
    the same labels.

    Raises
    ------
    InfrastructureError
        The phase is gone, or a paradigm of its task has no active label set
        (the organisers' to fix; never the team's fault).
    """
    found = challenges.phase_context(session, phase_id)
    if found is None:
        raise InfrastructureError(f"phase {phase_id} does not exist")
    phase, task, _ = found
    labels = {
        paradigm: label_source(ls)
        for paradigm, ls in challenges.active_label_sets(session, task.id).items()
        if paradigm in task.paradigms
    }
    missing = [p for p in task.paradigms if p not in labels]
    if missing:
        raise InfrastructureError(f"task {task.slug} has no active label set for {missing}")
    return PhaseWork(
        phase=phase,
        cases=case_inputs(challenges.list_cases(session, phase_id=phase.id, sample=False)),
        sample_cases=case_inputs(challenges.list_cases(session, phase_id=phase.id, sample=True)),
        labels=labels,
    )


def click_files_of(session: Session, phase: Phase) -> ClickFileSource | None:
    """The phase's active uploaded click files, if it has any."""
    found = interactive.active_click_set(session, phase_id=phase.id)
    if found is None:
        return None
    return ClickFileSource(
        click_set_id=found.id, version=found.version, storage_path=found.storage_path
    )


def read_plan(session: Session, submission: Submission, settings: WorkerSettings) -> Plan:
    """The plan of the submission's current attempt (the caller holds the row lock)."""
    work = phase_work(session, submission.phase_id)
    phase = work.phase
    return Plan(
        submission_id=submission.id,
        attempt=submission.attempt,
        image=image_to_run(submission),
        limits=settings.limits(
            time_limit_s=phase.time_limit_s, memory_limit_mb=phase.memory_limit_mb
        ),
        cases=work.cases,
        sample_cases=work.sample_cases,
        labels=work.labels,
        preflight=phase.kind == PhaseKind.FINAL,
        gpu=phase.gpu,
        contract=effective_contract(phase),
        interaction=interaction_of(phase.interaction),
        click_files=click_files_of(session, phase),
        mode=ScoringMode.PAPER,
        container_prefix=settings.container_prefix,
    )
