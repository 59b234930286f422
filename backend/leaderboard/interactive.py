"""Interactive boards: the curve metrics ranked like any others, and each entry's mean curve.

A phase with an ``interaction:`` block (:mod:`backend.interactive.spec`) is
ranked by :mod:`.ranked` from its counted evaluations' per-case curves
(:class:`~backend.interactive.models.InteractiveCaseScore`) rather than their
lesion-wise scores: per centre, with the phase's rules and the same bootstrap.
It ranks on its task's metric set when that names interactive metrics, and on
the six of :mod:`scoring.interactive.aggregate` (DSC@AUC, ASD@AUC, MSD@AUC,
DSC@Final, ASD@Final, MSD@Final) otherwise. The board also draws each entry's
mean Dice at 0…N clicks, over all cases and per centre (:func:`curves`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from backend.challenges.models import Task
from backend.errors import DomainError
from backend.interactive import repository as interactive
from backend.leaderboard import cache, repository
from backend.leaderboard.context import PhaseContext
from scoring.interactive.aggregate import INTERACTIVE_METRICS, mean_curve
from scoring.interactive.results import InteractiveCaseResult
from scoring.ranking import METRIC_DIRECTIONS
from scoring.ranking.metrics import Result
from scoring.results import CaseResult

#: ``curves[paradigm][scope][entry key]``: mean Dice at 0…N clicks (scope: ``""`` = all cases).
Curves = dict[str, dict[str, dict[str, list[float]]]]

#: ``results[evaluation id][paradigm]``.
Loaded = dict[int, dict[str, list[InteractiveCaseResult]]]


def is_interactive(ctx: PhaseContext) -> bool:
    """Whether the phase's board ranks per-case curves."""
    return ctx.phase.interaction is not None


def metric_sets(task: Task, paradigms: Sequence[str]) -> dict[str, list[str]]:
    """The metrics an interactive board ranks, per paradigm.

    The task's set where it names an interactive metric (it may add lesion-wise
    ones: those are measured on the prediction at the last click), the six
    curve metrics otherwise.

    Raises
    ------
    DomainError
        409 for a metric no board knows.
    """
    sets = task.metric_sets or {}
    out = {}
    for p in paradigms:
        chosen = sets.get(p)
        if isinstance(chosen, list) and any(m in INTERACTIVE_METRICS for m in chosen):
            unknown = sorted(set(chosen) - set(METRIC_DIRECTIONS))
            if unknown:
                raise DomainError(
                    f"task {task.slug}: metric sets name unknown metrics {unknown}; "
                    f"known: {sorted(METRIC_DIRECTIONS)}",
                    409,
                )
            out[p] = list(chosen)
        else:
            out[p] = list(INTERACTIVE_METRICS)
    return out


def evaluation_results(
    session: Session, ctx: PhaseContext, *, evaluation_ids: Sequence[int]
) -> Loaded:
    """``results[evaluation][paradigm]``, parsed once per evaluation and phase generation."""
    stamp = repository.generation(session, phase_id=ctx.phase.id)
    out: Loaded = {}
    for e in evaluation_ids:
        found = cache.RESULTS.get(("interactive", e), stamp)
        if found is not None:
            out[e] = found
    missing = [e for e in evaluation_ids if e not in out]
    current = {c.key for c in ctx.cases}
    loaded: Loaded = {e: {} for e in missing}
    for row, key, _centre in interactive.scores_with_keys(session, evaluation_ids=missing):
        if key not in current:
            continue  # a score of a case since removed from the test set
        result = InteractiveCaseResult.from_dict({**row.result, "case_id": key})
        loaded[row.evaluation_id].setdefault(row.paradigm, []).append(result)
    for e, per_paradigm in loaded.items():
        cache.RESULTS.put(("interactive", e), stamp, per_paradigm)
    out.update(loaded)
    return out


def _lesions(r: Result) -> CaseResult | None:
    return r.steps[r.clicks].lesions if isinstance(r, InteractiveCaseResult) else r


def lesion_view(
    results: Mapping[str, Mapping[str, Sequence[Result]]],
) -> dict[str, dict[str, list[CaseResult]]]:
    """Each entry's lesion-wise results (what the size strata count); an interactive case's
    at its last click."""
    return {
        entry: {
            p: [found for r in rs if (found := _lesions(r)) is not None]
            for p, rs in per_paradigm.items()
        }
        for entry, per_paradigm in results.items()
    }


def curves(
    ctx: PhaseContext,
    results: Mapping[str, Mapping[str, Sequence[Result]]],
    *,
    paradigms: Sequence[str],
    pooled: str,
) -> Curves:
    """Every entry's mean Dice at 0…N clicks over all cases (``pooled``) and per centre.

    An entry without results for a scope has no curve there.
    """
    centre_of = {c.key: c.centre for c in ctx.cases}
    out: Curves = {p: {pooled: {}, **{c: {} for c in ctx.centres}} for p in paradigms}
    for entry, per_paradigm in results.items():
        for p in paradigms:
            rs = [r for r in per_paradigm.get(p, ()) if isinstance(r, InteractiveCaseResult)]
            scopes = {pooled: rs}
            for centre in ctx.centres:
                scopes[centre] = [r for r in rs if centre_of.get(r.case_id) == centre]
            for scope, chosen in scopes.items():
                curve = mean_curve(chosen, "dice")
                if curve:
                    out[p][scope][entry] = curve
    return out
