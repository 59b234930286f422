"""Re-scoring against new label-set versions from the stored predictions.

No container runs: the predictions kept at the first evaluation are scored
against the task's currently active label sets (and, on request, other
label-set versions too) into one evaluation per version set. Each stored
prediction is fetched and read once for every paradigm and every version.

Boards read each submission's latest evaluation, and
:func:`worker.scores.write_scores` overwrites the latest one when its
versions match (else it adds one); so the active versions are always written
last. A job with other versions therefore adds evaluations for them each time
it runs, while the active one is overwritten only when it was the latest.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence

import structlog

from backend.challenges import repository as challenges
from backend.enums import ScoringMode, SubmissionStatus
from backend.interactive.spec import interaction_of
from backend.leaderboard import cache
from backend.submissions import repository as submissions
from worker.cases import LabelSource
from worker.context import WorkerContext, get_context
from worker.interactive.rescore import rescore_interactive
from worker.labelcache import LabelCache
from worker.pipeline import fetch_predictions, score_label_sets
from worker.plan import label_source, phase_work
from worker.runner.base import InfrastructureError
from worker.scores import write_scores

log = structlog.get_logger(__name__)

#: Label-set versions to score against: paradigm -> version number.
Versions = Mapping[str, int]


def rescore_phase(
    phase_id: int,
    *,
    versions: Sequence[Versions] | None = None,
    context: WorkerContext | None = None,
) -> int:
    """Re-score every succeeded submission of a phase; returns how many were scored.

    Parameters
    ----------
    phase_id
        The phase.
    versions
        Other label-set versions to score against as well, one mapping
        (paradigm -> version) per evaluation to write; a paradigm left out
        takes its active version. The active versions are always scored, and
        written last.
    context
        The worker's collaborators.

    Raises
    ------
    InfrastructureError
        The phase is gone, a paradigm has no active label set, a version does
        not exist, or a stored prediction or label cannot be fetched.
    """
    context = context or get_context()
    with context.session_factory() as session:
        work = phase_work(session, phase_id)  # the active versions, or why there are none
        task_paradigms = list(work.labels)
        every = {
            (s.paradigm, s.version): s
            for s in challenges.label_sets_of(session, task_id=work.phase.task_id)
        }
        wanted: list[dict[str, LabelSource]] = []
        for chosen in [*(versions or []), {}]:  # the active versions last
            unknown = sorted(set(chosen) - set(task_paradigms))
            if unknown:
                raise InfrastructureError(f"phase {phase_id}'s task has no paradigm {unknown}")
            labels = {}
            for p in task_paradigms:
                if p not in chosen:
                    labels[p] = work.labels[p]
                    continue
                label_set = every.get((p, chosen[p]))
                if label_set is None:
                    raise InfrastructureError(
                        f"phase {phase_id}'s task has no label set {p} v{chosen[p]}"
                    )
                labels[p] = label_source(label_set)
            if labels in wanted:  # the same versions twice: scored and written once
                wanted.remove(labels)
            wanted.append(labels)
        cases = work.cases
        ids = [
            s.id
            for s in submissions.list_phase_submissions(
                session, phase_id=phase_id, statuses=[SubmissionStatus.SUCCEEDED]
            )
        ]
    sources = list({s.label_set_id: s for labels in wanted for s in labels.values()}.values())
    # One cache for the whole job: labels prepared for the first submission stay in memory.
    label_cache = LabelCache(context.settings.scratch_dir / "label-cache", remember=True)
    # Interactive phases re-score their per-click predictions against the active versions.
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
            by_set = score_label_sets(
                storage=context.storage,
                cases=cases,
                sources=sources,
                predictions=predictions,
                rejected={},
                workdir=workdir,
                label_cache=label_cache,
                threads=context.settings.scoring_threads,
            )
            with context.session_factory.begin() as session:
                for labels in wanted:
                    write_scores(
                        session,
                        submission_id,
                        labels=labels,
                        mode=ScoringMode.PAPER,
                        cases=cases,
                        results={
                            (c.case_key, p): by_set[(c.case_key, label.label_set_id)]
                            for p, label in labels.items()
                            for c in cases
                        },
                    )
                # Same versions again overwrite scores without a new evaluation, which the
                # boards' fingerprint would miss.
                cache.leaderboard_changed(session, phase_id=phase_id)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        log.info("rescore.done", submission=submission_id, phase=phase_id, versions=len(wanted))
    return len(ids)
