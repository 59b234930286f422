"""Which of a team's submissions a phase's leaderboard ranks (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from backend.enums import RankingSelection
from backend.leaderboard.repository import Candidate


def counted_submissions(
    candidates: Iterable[Candidate], *, selection: RankingSelection
) -> dict[int, Candidate]:
    """Each team's counted submission among its succeeded, evaluated ones.

    Parameters
    ----------
    candidates
        Succeeded submissions with their latest evaluation.
    selection
        ``latest``: the most recent one (the default; a final phase usually has
        one anyway). ``best``: the one with the highest mean per-case Dice over
        all paradigms, the most recent among equals. ``selected``: the one the
        team marked; a team that marked none (or whose mark is on a submission
        that did not succeed) is ranked by its latest, so a forgotten mark never
        drops a team from the board.

    Returns
    -------
    dict of int to Candidate
        ``counted[team_id]``.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> def c(sub, team, dice, selected=False):
    ...     return Candidate(submission_id=sub, team_id=team, created_at=datetime.now(UTC),
    ...                      selected=selected, evaluation_id=sub, mode="paper", mean_dice=dice)
    >>> subs = [c(1, 7, 0.9), c(2, 7, 0.5, selected=True), c(3, 7, 0.7)]
    >>> [counted_submissions(subs, selection=s)[7].submission_id for s in RankingSelection]
    [3, 1, 2]
    """
    by_team: dict[int, list[Candidate]] = {}
    for cand in candidates:
        by_team.setdefault(cand.team_id, []).append(cand)
    counted: dict[int, Candidate] = {}
    for team_id, cands in by_team.items():
        latest = max(cands, key=lambda x: (x.created_at, x.submission_id))
        if selection == RankingSelection.BEST:
            counted[team_id] = max(
                cands,
                key=lambda x: (
                    -1.0 if x.mean_dice is None else x.mean_dice,
                    x.created_at,
                    x.submission_id,
                ),
            )
        elif selection == RankingSelection.SELECTED:
            marked = [x for x in cands if x.selected]
            counted[team_id] = max(marked, key=lambda x: x.submission_id) if marked else latest
        else:
            counted[team_id] = latest
    return counted
