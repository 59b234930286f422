"""Pure leaderboard rules: which submission counts, and who may see a board."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from backend.challenges.models import Phase
from backend.enums import LeaderboardVisibility, PhaseKind, RankingSelection
from backend.leaderboard.repository import Candidate
from backend.leaderboard.selection import counted_submissions
from backend.leaderboard.visibility import can_publish, hidden_note, is_public

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def cand(sub: int, *, team: int = 1, dice: float | None = 0.5, selected: bool = False) -> Candidate:
    return Candidate(
        submission_id=sub,
        team_id=team,
        created_at=NOW + timedelta(minutes=sub),
        selected=selected,
        evaluation_id=100 + sub,
        mode="paper",
        mean_dice=dice,
    )


def test_latest_is_the_most_recent_succeeded_submission_per_team() -> None:
    counted = counted_submissions(
        [cand(1, dice=0.9), cand(2, dice=0.1), cand(3, team=2)], selection=RankingSelection.LATEST
    )
    assert {t: c.submission_id for t, c in counted.items()} == {1: 2, 2: 3}


def test_best_is_the_highest_mean_dice_latest_among_equals() -> None:
    subs = [cand(1, dice=0.8), cand(2, dice=0.8), cand(3, dice=None), cand(4, dice=0.3)]
    assert counted_submissions(subs, selection=RankingSelection.BEST)[1].submission_id == 2


def test_selected_falls_back_to_latest_without_a_mark() -> None:
    marked = [cand(1, selected=True), cand(2)]
    assert counted_submissions(marked, selection=RankingSelection.SELECTED)[1].submission_id == 1
    unmarked = [cand(1), cand(2)]
    assert counted_submissions(unmarked, selection=RankingSelection.SELECTED)[1].submission_id == 2


def test_no_candidates_no_teams() -> None:
    assert counted_submissions([], selection=RankingSelection.LATEST) == {}


def phase(kind: PhaseKind, visibility: LeaderboardVisibility) -> Phase:
    return Phase(
        kind=kind,
        leaderboard_visibility=visibility,
        opens_at=NOW - timedelta(days=30),
        closes_at=NOW + timedelta(days=1),
    )


@pytest.mark.parametrize(
    ("kind", "visibility", "public"),
    [
        (PhaseKind.VALIDATION, LeaderboardVisibility.LIVE, True),
        (PhaseKind.VALIDATION, LeaderboardVisibility.HIDDEN_UNTIL_CLOSE, False),
        (PhaseKind.VALIDATION, LeaderboardVisibility.PUBLISHED, True),
        (PhaseKind.FINAL, LeaderboardVisibility.LIVE, False),
        (PhaseKind.FINAL, LeaderboardVisibility.HIDDEN_UNTIL_CLOSE, False),
        (PhaseKind.FINAL, LeaderboardVisibility.PUBLISHED, True),
    ],
)
def test_who_sees_a_board(kind: PhaseKind, visibility: LeaderboardVisibility, public: bool) -> None:
    p = phase(kind, visibility)
    assert is_public(p) is public
    assert (hidden_note(p, now=NOW) is None) is public


def test_hidden_notes_say_until_when() -> None:
    p = phase(PhaseKind.FINAL, LeaderboardVisibility.HIDDEN_UNTIL_CLOSE)
    assert hidden_note(p, now=NOW) == (
        "Hidden until the phase closes (2026-06-02 00:00 UTC) and the organisers publish "
        "the results."
    )
    later = NOW + timedelta(days=2)
    assert "organisers publish the results (the phase closed" in str(hidden_note(p, now=later))
    assert "still open" in str(can_publish(p, now=NOW))
    assert can_publish(p, now=later) is None
