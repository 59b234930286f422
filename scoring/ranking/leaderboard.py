"""The point leaderboard: per centre and overall, rank then aggregate.

Rules (docs/evaluation.md, "Ranking"): per centre and paradigm, teams are ranked
on each metric of the paradigm's set and scored by their mean rank; a centre
score is the mean over the task's paradigms (Task 2: visible and combined);
the overall score is the mean over centres; positions order the scores, equal
scores sharing a position. Teams without results for a centre get the worst
value of every metric there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from scoring.ranking.cases import (
    Aggregation,
    CaseTable,
    Evaluation,
    Submissions,
    evaluate,
    pooled_values,
    prepare,
)
from scoring.ranking.ranks import MetricRanking, Ties, positions, rank_metrics
from scoring.results import Mode


@dataclass(frozen=True, slots=True)
class CentreBoard:
    """One centre's ranking.

    Attributes
    ----------
    centre
        The centre's name.
    case_ids
        Its test cases.
    paradigms
        ``paradigms[paradigm]``: metric values, per-metric ranks, mean rank and
        position within that paradigm.
    score
        ``score[team]``: mean over paradigms of the paradigm mean ranks.
    position
        ``position[team]``: place by ``score``.
    """

    centre: str
    case_ids: tuple[str, ...]
    paradigms: dict[str, MetricRanking]
    score: dict[str, float]
    position: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "centre": self.centre,
            "case_ids": list(self.case_ids),
            "paradigms": {p: r.to_dict() for p, r in self.paradigms.items()},
            "score": self.score,
            "position": self.position,
        }


@dataclass(frozen=True, slots=True)
class Leaderboard:
    """A phase's ranking.

    Attributes
    ----------
    teams, paradigms
        Ranked teams and scored paradigms.
    aggregation, ties, mode
        How it was computed.
    centres
        ``centres[centre]``: that centre's board.
    pooled
        ``pooled[paradigm]``: metrics over all cases (a team's available ones),
        ranked for display only; positions come from ``score``.
    score
        ``score[team]``: mean of the centre scores (lower is better).
    position
        ``position[team]``: final place; equal scores share one.
    missing
        ``missing[team]``: ``"centre/paradigm"`` pairs scored at worst values.
    """

    teams: tuple[str, ...]
    paradigms: tuple[str, ...]
    aggregation: Aggregation
    ties: Ties
    mode: Mode
    centres: dict[str, CentreBoard]
    pooled: dict[str, MetricRanking]
    score: dict[str, float]
    position: dict[str, int]
    missing: dict[str, list[str]]

    def order(self) -> list[str]:
        """Teams by final position, input order among equals."""
        return sorted(self.teams, key=lambda t: (self.position[t], self.teams.index(t)))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict."""
        return {
            "teams": list(self.teams),
            "paradigms": list(self.paradigms),
            "aggregation": self.aggregation,
            "ties": self.ties,
            "mode": self.mode,
            "centres": {c: b.to_dict() for c, b in self.centres.items()},
            "pooled": {p: r.to_dict() for p, r in self.pooled.items()},
            "score": self.score,
            "position": self.position,
            "missing": self.missing,
        }


def _by_team(teams: Sequence[str], row: np.ndarray) -> dict[str, float]:
    return {t: float(row[i]) for i, t in enumerate(teams)}


def leaderboard(
    submissions: Submissions,
    *,
    centres: Mapping[str, str],
    paradigms: Sequence[str],
    teams: Sequence[str] | None = None,
    mode: Mode = "paper",
    ties: Ties = "min",
    aggregation: Aggregation = "dataset",
    metric_sets: Mapping[str, Sequence[str]] | None = None,
) -> Leaderboard:
    """Rank teams per centre and overall from their stored per-case results.

    Parameters
    ----------
    submissions
        ``submissions[team][paradigm]``: the team's counted submission's
        :class:`~scoring.results.CaseResult` list (every case of a centre, or
        none of it).
    centres
        ``centres[case_id]``: the centre of every test case of the phase.
    paradigms
        ``("venous",)`` for Task 1, ``("visible", "combined")`` for Task 2.
    teams
        The teams to rank, e.g. only public ones for the public board (ranks
        are recomputed among them); a listed team without results gets the
        worst values. Default: every team in ``submissions``.
    mode
        The mode the results were scored in (see docs/evaluation.md).
    ties
        ``"min"`` or ``"average"``; see
        :func:`~scoring.ranking.ranks.rank_keys`.
    aggregation
        ``"dataset"`` ranks dataset metrics; ``"per_case"`` ranks each case and
        averages the ranks over cases (challengeR style).
    metric_sets
        Metrics ranked per paradigm; default
        :data:`~scoring.ranking.metrics.METRIC_SETS`.

    Returns
    -------
    Leaderboard

    Raises
    ------
    ValueError
        On unknown cases, duplicated cases, a centre only partly scored, an
        unknown paradigm or metric, or nothing to rank.

    Examples
    --------
    >>> from scoring.results import CaseResult
    >>> def res(case, dice):
    ...     return CaseResult(case_id=case, mode="paper", dice=dice, intersection=int(dice * 10),
    ...                       pred_voxels=10, label_voxels=10, tp_50=1, tp_0=1, lesion_count=1)
    >>> subs = {"a": {"venous": [res("x1", 0.9), res("y1", 0.8)]},
    ...         "b": {"venous": [res("x1", 0.7)]}}
    >>> board = leaderboard(subs, centres={"x1": "X", "y1": "Y"}, paradigms=["venous"])
    >>> board.order(), board.missing
    (['a', 'b'], {'a': [], 'b': ['Y/venous']})
    """
    table = prepare(
        submissions,
        centres=centres,
        paradigms=paradigms,
        teams=teams,
        mode=mode,
        metric_sets=metric_sets,
    )
    ones = {c: np.ones((1, len(ids))) for c, ids in table.case_ids.items()}
    ev = evaluate(table, ones, ties=ties, aggregation=aggregation, keep_sums=True)
    return board_from(table, ev, ties=ties, aggregation=aggregation, mode=mode)


def board_from(
    table: CaseTable,
    ev: Evaluation,
    *,
    rows: Sequence[int] | None = None,
    ties: Ties,
    aggregation: Aggregation,
    mode: Mode,
) -> Leaderboard:
    """The :class:`Leaderboard` of a point evaluation (one sample of weight one per case).

    Parameters
    ----------
    table
        From :func:`~scoring.ranking.cases.prepare`.
    ev
        ``evaluate(table, ones, rows=rows, keep_sums=True)``.
    rows
        The ranked teams' indices, as given to ``evaluate`` (default all).
    ties, aggregation, mode
        As ranked, for the record.
    """
    sel = list(range(len(table.teams))) if rows is None else list(rows)
    ranked = tuple(table.teams[i] for i in sel)
    boards: dict[str, CentreBoard] = {}
    for c in table.centres:
        per_paradigm = {}
        for p in table.paradigms:
            metrics = table.metric_sets[p]
            ranks = ev.ranks[p][c][0]  # (ranked, metrics)
            mean = ranks.mean(axis=1)
            per_paradigm[p] = MetricRanking(
                teams=ranked,
                metrics=metrics,
                values={
                    t: {m: float(ev.values[p][c][m][i, 0]) for m in metrics}
                    for t, i in zip(ranked, sel, strict=True)
                },
                ranks={
                    t: {m: float(ranks[k, j]) for j, m in enumerate(metrics)}
                    for k, t in enumerate(ranked)
                },
                mean_rank=_by_team(ranked, mean),
                position={t: int(x) for t, x in zip(ranked, positions(mean), strict=True)},
            )
        score = ev.centre_scores[c][0]
        boards[c] = CentreBoard(
            centre=c,
            case_ids=table.case_ids[c],
            paradigms=per_paradigm,
            score=_by_team(ranked, score),
            position={t: int(x) for t, x in zip(ranked, positions(score), strict=True)},
        )
    pooled = {}
    for p in table.paradigms:
        values = pooled_values(table, ev, p)
        pooled[p] = rank_metrics(
            {
                t: {m: float(v[i, 0]) for m, v in values.items()}
                for t, i in zip(ranked, sel, strict=True)
            },
            metrics=table.metric_sets[p],
            ties=ties,
        )
    overall = ev.overall[0]
    return Leaderboard(
        teams=ranked,
        paradigms=table.paradigms,
        aggregation=aggregation,
        ties=ties,
        mode=mode,
        centres=boards,
        pooled=pooled,
        score=_by_team(ranked, overall),
        position={t: int(x) for t, x in zip(ranked, positions(overall), strict=True)},
        missing={
            t: [
                f"{c}/{p}"
                for c in table.centres
                for p in table.paradigms
                if not table.present[p][c][i]
            ]
            for t, i in zip(ranked, sel, strict=True)
        },
    )
