"""Closed vocabularies stored as strings with CHECK constraints."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import Enum


def str_enum(enum_cls: type[StrEnum], name: str) -> Enum:
    """A portable (non-native) enum column type storing the members' values."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


class Role(StrEnum):
    """A user's role on the platform."""

    PARTICIPANT = "participant"
    ORGANISER = "organiser"
    ADMIN = "admin"


class PhaseKind(StrEnum):
    """Validation phases are open for practice; final phases decide the ranking."""

    VALIDATION = "validation"
    FINAL = "final"


class LeaderboardVisibility(StrEnum):
    """When the public may see a phase's leaderboard."""

    LIVE = "live"
    HIDDEN_UNTIL_CLOSE = "hidden_until_close"
    PUBLISHED = "published"


class RankingSelection(StrEnum):
    """Which of a team's submissions the leaderboard ranks."""

    LATEST = "latest"
    BEST = "best"
    SELECTED = "selected"


class SubmissionStatus(StrEnum):
    """Submission states; their moves and rules are in ``backend/submissions/lifecycle.py``."""

    QUEUED = "queued"
    PREFLIGHT = "preflight"
    RUNNING = "running"
    SCORING = "scoring"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    FAILED_PREFLIGHT = "failed_preflight"
    ERROR = "error"
    CANCELLED = "cancelled"


class ScoringMode(StrEnum):
    """docs/evaluation.md's two modes."""

    PAPER = "paper"
    REFERENCE = "reference"


def enum_values(enum_cls: type[StrEnum]) -> list[Any]:
    """The stored values of an enum, for messages."""
    return [m.value for m in enum_cls]
