"""Centre-to-centre comparisons for the organisers: does a metric differ between centres?

As the TriALS paper's Table 2: for each metric of the board, the teams'
scores on one centre against their scores on another (two-sided Mann–Whitney
U), every pair of centres; the p-values of all comparisons shown together are
one Benjamini–Hochberg family (:func:`scoring.ranking.compare_centres`). Teams
only: reference entries are not part of the field being described.
"""

from __future__ import annotations

from pydantic import BaseModel
from sqlalchemy.orm import Session

from backend.leaderboard.service import ranked_for_organisers
from scoring.ranking import compare_centres

#: The false-discovery rate the adjusted p-values are compared with.
FDR = 0.05


class ComparisonOut(BaseModel):
    """One metric, two centres."""

    paradigm: str
    metric: str
    centre_a: str
    centre_b: str
    n_a: int
    n_b: int
    median_a: float
    median_b: float
    u: float
    p: float
    p_adjusted: float
    significant: bool


class CentreComparisonsOut(BaseModel):
    """Every centre pair on every metric of a phase's board (organisers)."""

    phase_id: int
    paradigm: str | None
    fdr: float
    teams: int
    comparisons: list[ComparisonOut]
    note: str


def centre_comparisons(
    session: Session, *, phase_id: int, paradigm: str | None
) -> CentreComparisonsOut:
    """Mann–Whitney U between centres on each metric, Benjamini–Hochberg over all of them."""
    ranked = ranked_for_organisers(session, phase_id=phase_id, paradigm=paradigm)
    analysis = ranked.analysis
    teams = [e.key for e in ranked.entries if e.kind == "team" and e.ranked]
    if analysis is None or len(analysis.board.centres) < 2 or not teams:
        return CentreComparisonsOut(
            phase_id=phase_id,
            paradigm=paradigm,
            fdr=FDR,
            teams=len(teams),
            comparisons=[],
            note="centre comparisons need scored teams on at least two centres",
        )
    values: dict[str, dict[str, list[float]]] = {}
    for p in ranked.paradigms:
        for m in analysis.table.metric_sets[p]:
            values[f"{p}\t{m}"] = {
                c: [board.paradigms[p].values[t][m] for t in teams]
                for c, board in analysis.board.centres.items()
                if not any(f"{c}/{p}" in analysis.board.missing[t] for t in teams)
            }
    comparisons = []
    for c in compare_centres(values, alpha=FDR):
        p, m = c.measure.split("\t")
        comparisons.append(
            ComparisonOut(
                paradigm=p,
                metric=m,
                centre_a=c.centre_a,
                centre_b=c.centre_b,
                n_a=c.n_a,
                n_b=c.n_b,
                median_a=c.median_a,
                median_b=c.median_b,
                u=c.u,
                p=c.p,
                p_adjusted=c.p_adjusted,
                significant=c.significant,
            )
        )
    return CentreComparisonsOut(
        phase_id=phase_id,
        paradigm=paradigm,
        fdr=FDR,
        teams=len(teams),
        comparisons=comparisons,
        note=(
            "each team's score on one centre against its score on the other (two-sided "
            "Mann-Whitney U, exact for small fields); p-values adjusted by Benjamini-Hochberg "
            "over every comparison listed; a centre where a team has no scores is left out"
        ),
    )
