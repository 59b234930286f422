"""Response bodies of the submission endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from backend.enums import SubmissionStatus
from backend.leaderboard.schemas import PhaseRef, TeamRef


class SubmissionOut(BaseModel):
    """A submission as its team sees it.

    ``log_tail`` is ``None`` where the team may not read the container's log: a
    final-phase run sees the hidden test images, and its output could carry
    them (see :func:`backend.submissions.lifecycle.team_sees_log`).
    """

    model_config = ConfigDict(from_attributes=True)

    id: int
    #: None for an organiser's reference entry (``backend.references``).
    team_id: int | None
    phase_id: int
    slot: int | None
    status: SubmissionStatus
    attempt: int
    failure_class: str | None
    message: str
    log_tail: str | None
    image_digest: str
    image_tags: list[str]
    selected: bool
    #: ``registry`` for a pushed image (pinned by ``manifest_digest``), else ``tarball``.
    image_source: Literal["tarball", "registry"] = "tarball"
    manifest_digest: str | None = None
    tarball_sha256: str | None
    size_bytes: int
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    runtime_s: float | None


class PushedImageIn(BaseModel):
    """A pushed image to submit: ``REGISTRY/CHALLENGE/TEAM/NAME:TAG`` or ``…@sha256:DIGEST``."""

    model_config = ConfigDict(extra="forbid")

    image: str = Field(min_length=1, max_length=600)


class LedgerEntryOut(BaseModel):
    """One quota movement: -1 when a slot is taken, +1 when it is refunded."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    submission_id: int
    slot: int
    change: int
    reason: str
    at: datetime


class QuotaOut(BaseModel):
    """A team's quota in a phase."""

    limit: int
    used: int
    remaining: int


class HistorySubmission(SubmissionOut):
    """A submission in its team's history: :class:`SubmissionOut` and whether it is ranked."""

    counted: bool


class History(BaseModel):
    """A team's submissions to a phase (newest first), its quota and its quota ledger.

    ``logs_shown`` says whether this phase shows you the log of every run
    (validation phases; organisers everywhere). Where it is false, a
    submission's ``log_tail`` is set only where its log may be read (a failed
    pre-flight, which ran on the public sample cases alone) and ``None``
    otherwise.
    """

    phase: PhaseRef
    team: TeamRef
    quota: QuotaOut
    ledger: list[LedgerEntryOut]
    submissions: list[HistorySubmission]
    logs_shown: bool


class CaseScoreOut(BaseModel):
    """One stored per-case result (organisers)."""

    case: str
    centre: str
    paradigm: str
    status: str
    dice: float
    result: dict[str, Any]


class CaseScoresOut(BaseModel):
    """A submission's per-case scores from its latest evaluation (``team`` null: a reference)."""

    submission_id: int
    team: TeamRef | None
    evaluation_id: int | None
    scorer_version: str | None
    mode: str | None
    scores: list[CaseScoreOut]
