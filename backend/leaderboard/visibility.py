"""Who may see a phase's leaderboard, and the words for when it is hidden (pure)."""

from __future__ import annotations

from datetime import datetime

from backend.challenges.models import Phase
from backend.enums import LeaderboardVisibility, PhaseKind


def is_public(phase: Phase) -> bool:
    """Whether everyone may see the phase's board.

    Validation phases follow their setting (``live`` by default). A final phase
    is public only once an organiser has published it, whatever its setting
    says: a ``live`` final phase would leak the test ranking while teams can
    still submit.
    """
    if phase.leaderboard_visibility == LeaderboardVisibility.PUBLISHED:
        return True
    if phase.kind == PhaseKind.FINAL:
        return False
    return phase.leaderboard_visibility == LeaderboardVisibility.LIVE


def hidden_note(phase: Phase, *, now: datetime) -> str | None:
    """Why the board is hidden and until when; ``None`` when it is public."""
    if is_public(phase):
        return None
    closes = phase.closes_at.strftime("%Y-%m-%d %H:%M UTC")
    if now < phase.closes_at:
        return f"Hidden until the phase closes ({closes}) and the organisers publish the results."
    return "Hidden until the organisers publish the results (the phase closed " + closes + ")."


def can_publish(phase: Phase, *, now: datetime) -> str | None:
    """``None`` when an organiser may publish now, else why not."""
    if now < phase.closes_at:
        closes = phase.closes_at.strftime("%Y-%m-%d %H:%M UTC")
        return f"the phase is still open: publish its leaderboard after it closes ({closes})"
    return None
