"""Rank a phase once per view and paradigm choice; :mod:`.shaped` turns it into responses.

:func:`rank_phase` does the expensive part once per board version: the
entries' stored case results, the point board, the 1,000-sample bootstrap with
the metric intervals from the same resamples (:func:`scoring.ranking.analyse`)
and the lesion-size strata. The centre tabs of a board share it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.orm import Session

from backend.challenges import repository as challenges
from backend.challenges.models import Task
from backend.errors import DomainError
from backend.leaderboard import cache, repository
from backend.leaderboard import interactive as curves_of
from backend.leaderboard.context import PhaseContext
from backend.leaderboard.entries import Entry, gather
from backend.leaderboard.rules import RankingRules, rules_of
from backend.leaderboard.schemas import View
from backend.leaderboard.versions import Versions, choose, describe
from backend.teams.models import Team
from scoring.lesion_sizes import SizeRecord, Stratum, case_counts, from_result, strata_of
from scoring.ranking import METRIC_DIRECTIONS
from scoring.ranking.analysis import POOLED, Analysis, analyse
from scoring.ranking.metrics import Result
from scoring.results import CaseResult

#: Bootstrap resamples and seed of every board's stability figures (docs/evaluation.md).
BOOTSTRAP_SAMPLES = 1000
BOOTSTRAP_SEED = 20240901

#: ``strata[paradigm][scope][entry key]``; None where a result predates the size records.
Strata = dict[str, dict[str, dict[str, list[Stratum] | None]]]


@dataclass(frozen=True)
class Ranked:
    """A phase ranked for one view and paradigm choice (all centres).

    ``analysis`` is None when there is nothing to rank; ``notes`` then says why.
    ``entries`` are the consistent ones (ranked and unranked), ``waiting`` those
    scored against other label versions.
    """

    phase_id: int
    paradigms: list[str]
    rules: RankingRules
    entries: list[Entry]
    analysis: Analysis | None
    strata: Strata
    versions: Versions | None
    active: Versions
    waiting: list[Entry]
    notes: list[str] = field(default_factory=list)
    #: Interactive phases: each entry's mean Dice-vs-clicks curve (:mod:`.interactive`).
    curves: curves_of.Curves = field(default_factory=dict)

    @property
    def rescoring(self) -> bool:
        """Whether some counted evaluation is not against the active label versions."""
        return any(e.versions != self.active for e in [*self.entries, *self.waiting])


def _metric_sets(task: Task, paradigms: Sequence[str]) -> Mapping[str, Sequence[str]] | None:
    sets = task.metric_sets or {}
    if not all(isinstance(sets.get(p), list) and sets[p] for p in paradigms):
        return None  # scoring's defaults (docs/evaluation.md) cover the TriALS paradigms
    unknown = sorted({m for p in paradigms for m in sets[p]} - set(METRIC_DIRECTIONS))
    if unknown:
        raise DomainError(
            f"task {task.slug}: metric sets name unknown metrics {unknown}; "
            f"known: {sorted(METRIC_DIRECTIONS)}",
            409,
        )
    return {p: list(sets[p]) for p in paradigms}


def _evaluation_results(
    session: Session, ctx: PhaseContext, *, evaluation_ids: Sequence[int]
) -> dict[int, dict[str, list[CaseResult]]]:
    """``results[evaluation][paradigm]``, parsed once per evaluation and phase generation."""
    stamp = repository.generation(session, phase_id=ctx.phase.id)
    out: dict[int, dict[str, list[CaseResult]]] = {}
    for e in evaluation_ids:
        found = cache.RESULTS.get(("evaluation", e), stamp)
        if found is not None:
            out[e] = found
    missing = [e for e in evaluation_ids if e not in out]
    keys = {c.id: c.key for c in ctx.cases}
    loaded: dict[int, dict[str, list[CaseResult]]] = {e: {} for e in missing}
    for evaluation_id, case_id, paradigm, result in repository.case_results(
        session, evaluation_ids=missing
    ):
        if case_id not in keys:
            continue  # a score of a case since removed from the test set
        res = CaseResult.from_dict({**result, "case_id": keys[case_id]})
        loaded[evaluation_id].setdefault(paradigm, []).append(res)
    for e, per_paradigm in loaded.items():
        cache.RESULTS.put(("evaluation", e), stamp, per_paradigm)
    out.update(loaded)
    return out


def _results_by_entry(
    session: Session, ctx: PhaseContext, entries: Sequence[Entry]
) -> tuple[dict[str, dict[str, list[Result]]], list[str]]:
    """Stored results per entry and paradigm, whole centres only; and notes on dropped ones.

    An interactive phase's are its per-case curves, a plain phase's its lesion-wise scores.
    """
    centre_of = {c.key: c.centre for c in ctx.cases}
    size = {c: sum(1 for x in ctx.cases if x.centre == c) for c in ctx.centres}
    load = curves_of.evaluation_results if curves_of.is_interactive(ctx) else _evaluation_results
    stored: Mapping[int, Mapping[str, Sequence[Result]]] = load(
        session, ctx, evaluation_ids=[e.evaluation_id for e in entries]
    )
    by_entry: dict[str, dict[str, list[Result]]] = {}
    notes = []
    for entry in entries:
        by_entry[entry.key] = {}
        for paradigm, results in stored[entry.evaluation_id].items():
            kept = list(results)
            counts: dict[str, int] = {}
            for r in results:
                counts[centre_of[r.case_id]] = counts.get(centre_of[r.case_id], 0) + 1
            partial = {c for c, n in counts.items() if n != size[c]}
            if partial:
                # scoring.ranking refuses a partly scored centre; rank the entry there at
                # worst values and say so rather than hide the whole board.
                kept = [r for r in results if centre_of[r.case_id] not in partial]
                notes.append(
                    f"{entry.name}: {paradigm} scores incomplete for "
                    f"{', '.join(sorted(partial))}; ranked at worst values there"
                )
            by_entry[entry.key][paradigm] = kept
    return by_entry, notes


def _strata(
    ctx: PhaseContext,
    results: Mapping[str, Mapping[str, Sequence[CaseResult]]],
    *,
    paradigms: Sequence[str],
    bounds: Sequence[float],
) -> Strata:
    """Lesion-size strata of every entry, over all cases and per centre."""
    keys = [c.key for c in ctx.cases]
    position = {k: i for i, k in enumerate(keys)}
    scopes = {POOLED: np.arange(len(keys))}
    for centre in ctx.centres:
        scopes[centre] = np.array([i for i, c in enumerate(ctx.cases) if c.centre == centre])
    out: Strata = {p: {s: {} for s in scopes} for p in paradigms}
    for entry, per_paradigm in results.items():
        for p in paradigms:
            records: list[SizeRecord | None] = [None] * len(keys)
            known = True
            for r in per_paradigm.get(p, ()):
                rec = from_result(r)
                known = known and rec is not None
                records[position[r.case_id]] = rec
            counts = case_counts(records, bounds=bounds) if known else None
            for scope, idx in scopes.items():
                out[p][scope][entry] = (
                    None if counts is None else strata_of(counts[idx].sum(axis=0), bounds=bounds)
                )
    return out


def _active_versions(session: Session, ctx: PhaseContext, paradigms: Sequence[str]) -> Versions:
    active = challenges.active_label_sets(session, ctx.task.id)
    return tuple(sorted((p, active[p].version if p in active else 0) for p in paradigms))


def rank_phase(
    session: Session,
    ctx: PhaseContext,
    teams: Sequence[Team],
    *,
    view: View,
    paradigm: str | None,
) -> Ranked:
    """Rank the phase's entries for a view (all centres) under the phase's ranking rules.

    Raises
    ------
    DomainError
        409 when the stored results cannot be ranked (mixed scoring modes,
        unknown metrics in the task's metric sets).
    """
    rules = rules_of(ctx.phase.ranking)
    paradigms = [paradigm] if paradigm else list(ctx.task.paradigms)
    entries, notes = gather(session, ctx, teams, view=view, rules=rules, paradigms=paradigms)
    active = _active_versions(session, ctx, paradigms)

    def empty(why: str, **kwargs: object) -> Ranked:
        return Ranked(
            phase_id=ctx.phase.id,
            paradigms=paradigms,
            rules=rules,
            entries=kwargs.get("entries", []),  # type: ignore[arg-type]
            analysis=None,
            strata={},
            versions=kwargs.get("versions"),  # type: ignore[arg-type]
            active=active,
            waiting=kwargs.get("waiting", []),  # type: ignore[arg-type]
            notes=[why, *notes],
        )

    if not ctx.cases:
        return empty("no hidden test cases yet")
    if not any(e.kind == "team" for e in entries):
        return empty("no succeeded submission yet")
    chosen = choose([e.versions for e in entries], active=active)
    consistent = [e for e in entries if e.versions == chosen]
    waiting = [e for e in entries if e.versions != chosen]
    if waiting:
        notes.append(
            f"ranked against labels {describe(chosen or ())}; waiting for re-scoring: "
            + ", ".join(f"{e.name} ({describe(e.versions)})" for e in waiting)
        )
    modes = {e.mode for e in consistent}
    if len(modes) > 1:
        raise DomainError(
            f"the counted submissions were scored in different modes {sorted(modes)}: "
            "re-score them in one mode",
            409,
        )
    ranked = sorted((e for e in consistent if e.ranked), key=lambda e: (e.name, e.key))
    unranked = sorted((e for e in consistent if not e.ranked), key=lambda e: (e.name, e.key))
    if not ranked:
        return empty(
            "no ranked entry scored against the board's labels yet",
            entries=unranked,
            versions=chosen,
            waiting=waiting,
        )
    results, dropped = _results_by_entry(session, ctx, consistent)
    notes += dropped
    interactive = curves_of.is_interactive(ctx)
    sets = (
        curves_of.metric_sets(ctx.task, paradigms)
        if interactive
        else _metric_sets(ctx.task, paradigms)
    )
    try:
        analysis = analyse(
            results,
            centres={c.key: c.centre for c in ctx.cases},
            paradigms=paradigms,
            ranked=[e.key for e in ranked],
            unranked=[e.key for e in unranked],
            mode=modes.pop(),  # type: ignore[arg-type]
            ties=rules.ties,
            aggregation=rules.scoring_aggregation,
            metric_sets=sets,
            samples=BOOTSTRAP_SAMPLES,
            seed=BOOTSTRAP_SEED,
        )
    except ValueError as exc:
        raise DomainError(f"cannot rank this phase: {exc}", 409) from exc
    lesions = curves_of.lesion_view(results)
    strata = _strata(ctx, lesions, paradigms=paradigms, bounds=rules.size_strata_mm3)
    if any(v is None for p in strata.values() for e in p[POOLED].values() for v in [e]):
        notes.append(
            "lesion-size strata are missing for entries scored before lesion volumes were "
            "recorded; re-score the phase to fill them"
        )
    return Ranked(
        phase_id=ctx.phase.id,
        paradigms=paradigms,
        rules=rules,
        entries=[*ranked, *unranked],
        analysis=analysis,
        strata=strata,
        versions=chosen,
        active=active,
        waiting=waiting,
        notes=notes,
        curves=curves_of.curves(ctx, results, paradigms=paradigms, pooled=POOLED)
        if interactive
        else {},
    )
