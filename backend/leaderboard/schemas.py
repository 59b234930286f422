"""Response bodies of the leaderboard, history and organiser endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from backend.enums import LeaderboardVisibility, PhaseKind, RankingSelection
from backend.leaderboard.rules import RankingRules

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
    """A metric value, the entry's rank on it and its 95% bootstrap interval.

    ``value`` is null if not finite; ``rank`` is null for an entry shown
    unranked; ``interval`` is null where there is no bootstrap.
    """

    value: float | None
    rank: float | None
    interval: tuple[float, float] | None = None


class RowStability(BaseModel):
    """The team's position across bootstrap samples."""

    median: float
    interval: tuple[int, int]
    share_first: float
    rank_shares: list[float]


class MethodRef(BaseModel):
    """The method behind an entry: its name, a link, and the write-up PDF once public."""

    name: str
    link: str | None
    writeup_url: str | None


class ReferenceInfo(BaseModel):
    """What makes a row a reference entry."""

    id: int
    kind: Literal["baseline", "human", "off-the-shelf"]
    description: str


class StratumOut(BaseModel):
    """Per-lesion detection in one volume range (mm³, ``high`` null: no upper bound)."""

    low: float
    high: float | None
    tp: int
    fn: int
    fp: int
    f1: float | None


class Row(BaseModel):
    """One entry on a board: a team, or a reference entry (``reference`` set).

    ``position``, ``score`` and the cells' ranks are null for an entry shown
    unranked beside the ranking (``ranked`` false).
    """

    position: int | None
    team: str
    team_id: int | None
    kind: Literal["team", "baseline", "human", "off-the-shelf"]
    ranked: bool
    affiliated: bool
    reference: ReferenceInfo | None = None
    submission_id: int
    submitted_at: datetime
    entries: int | None = None
    method: MethodRef | None = None
    rerunning: bool = False
    label_versions: dict[str, int] = {}
    score: float | None
    cells: dict[str, Cell]
    centre_scores: dict[str, float]
    missing: list[str]
    stability: RowStability | None
    strata: dict[str, list[StratumOut]] | None = None


class StabilitySummary(BaseModel):
    """How the bootstrap was drawn and how stable the ranking is overall."""

    samples: int
    seed: int
    cases_per_centre: dict[str, int]
    kendall_tau_mean: float | None
    kendall_tau_median: float | None
    kendall_tau_samples: int = 0
    #: Coverage of the metric intervals (the same resamples).
    interval_confidence: float = 0.95


class SignificanceOut(BaseModel):
    """A significance map: ``significant[i][j]``: entry i is better than entry j."""

    paradigm: str
    metric: str
    alpha: float
    cases: int
    entries: list[str]
    p_adjusted: list[list[float | None]]
    significant: list[list[bool]]


class WaitingOut(BaseModel):
    """An entry left off the ranking until it is re-scored against the board's labels."""

    team: str
    label_versions: dict[str, int]


class LabelVersionsOut(BaseModel):
    """The label-set versions a board is scored against, and any re-scoring under way."""

    ranked: dict[str, int]
    active: dict[str, int]
    rescoring: bool
    waiting: list[WaitingOut]


class CurveOut(BaseModel):
    """An entry's mean Dice after 0, 1, …, N clicks (interactive phases), in the board's scope."""

    team: str
    kind: Literal["team", "baseline", "human", "off-the-shelf"]
    ranked: bool
    paradigm: str
    #: ``dice[k]``: the mean over the scope's cases of the Dice with k clicks of each kind.
    dice: list[float]


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
    rules: RankingRules | None = None
    label_versions: LabelVersionsOut | None = None
    significance: list[SignificanceOut] = []
    strata_bounds: list[float] = []
    #: Interactive phases: every entry's mean Dice-vs-clicks curve, in board order.
    curves: list[CurveOut] = []


class TeamRef(BaseModel):
    """A team."""

    id: int
    name: str
    affiliated: bool


class TeamsOut(BaseModel):
    """Every team of the phase's challenge with its submissions (organisers)."""

    phase: PhaseRef
    teams: list[TeamRef]


class ActionOut(BaseModel):
    """What an organiser action did."""

    ok: bool
    message: str
