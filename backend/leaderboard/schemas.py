"""Response bodies of the leaderboard, history and organiser endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from backend.enums import LeaderboardVisibility, PhaseKind, RankingSelection, SubmissionStatus

View = Literal["public", "organisers"]


class PhaseRef(BaseModel):
    """The phase a board or history belongs to."""

    id: int
    slug: str
    title: str
    kind: PhaseKind
    task: str
    task_title: str
    challenge: str
    closes_at: datetime
    leaderboard_visibility: LeaderboardVisibility
    ranking_selection: RankingSelection
    paradigms: list[str]
    centres: list[str]


class Column(BaseModel):
    """A metric column: ``key`` indexes :attr:`Row.cells`."""

    key: str
    paradigm: str
    metric: str
    label: str
    direction: Literal["higher", "lower", "lower_abs"]


class Cell(BaseModel):
    """A metric value and the team's rank on it (``value`` is null if not finite)."""

    value: float | None
    rank: float


class RowStability(BaseModel):
    """The team's position across bootstrap samples."""

    median: float
    interval: tuple[int, int]
    share_first: float
    rank_shares: list[float]


class Row(BaseModel):
    """One team on a board."""

    position: int
    team: str
    team_id: int
    affiliated: bool
    submission_id: int
    submitted_at: datetime
    score: float
    cells: dict[str, Cell]
    centre_scores: dict[str, float]
    missing: list[str]
    stability: RowStability | None


class StabilitySummary(BaseModel):
    """How the bootstrap was drawn and how stable the ranking is overall."""

    samples: int
    seed: int
    cases_per_centre: dict[str, int]
    kendall_tau_mean: float | None
    kendall_tau_median: float | None


class Board(BaseModel):
    """A phase's leaderboard for one view and filter."""

    phase: PhaseRef
    view: View
    centre: str | None
    paradigm: str | None
    public: bool
    hidden: bool
    hidden_note: str | None
    score_label: str
    columns: list[Column]
    rows: list[Row]
    stability: StabilitySummary | None
    notes: list[str]
    generated_at: datetime


class QuotaOut(BaseModel):
    """The team's submission quota in the phase."""

    limit: int
    used: int
    remaining: int


class LedgerEntryOut(BaseModel):
    """One quota movement."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    submission_id: int
    slot: int
    change: int
    reason: str
    at: datetime


class HistorySubmission(BaseModel):
    """A submission as its team sees it (``log_tail`` only on validation phases)."""

    id: int
    status: SubmissionStatus
    failure_class: str | None
    message: str
    runtime_s: float | None
    log_tail: str | None
    created_at: datetime
    finished_at: datetime | None
    size_bytes: int
    selected: bool
    counted: bool


class TeamRef(BaseModel):
    """A team."""

    id: int
    name: str
    affiliated: bool


class History(BaseModel):
    """A team's submissions, quota and quota ledger in a phase."""

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


class TeamsOut(BaseModel):
    """Every team of the phase's challenge with its submissions (organisers)."""

    phase: PhaseRef
    teams: list[TeamRef]


class ActionOut(BaseModel):
    """What an organiser action did."""

    ok: bool
    message: str
