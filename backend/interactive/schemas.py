"""Response bodies of the interactive endpoints, and a phase's ``interaction`` as shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from backend.interactive.spec import ClickSource, InteractionMode, interaction_of
from backend.leaderboard.schemas import TeamRef


class InteractionOut(BaseModel):
    """An interactive phase's settings, every default filled in."""

    mode: InteractionMode
    clicks: int
    paradigm: str
    simulator: dict[str, Any]
    click_source: ClickSource
    step_time_limit_s: int
    startup_time_limit_s: int


def effective_interaction(value: Any) -> Any:
    """A phase's stored ``interaction`` block as :class:`InteractionOut` data (a validator)."""
    if value is None or isinstance(value, InteractionOut):
        return value
    interaction = interaction_of(value)
    return None if interaction is None else interaction.describe()


class ClickSetOut(BaseModel):
    """A version of a phase's uploaded click files."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    phase_id: int
    version: int
    sha256: str
    active: bool
    file_count: int
    size_bytes: int
    created_at: datetime


class ClickSetStoredOut(ClickSetOut):
    """Result of a click-file upload: ``created`` is false for files stored before.

    ``warnings`` are what the checks found worth saying without refusing
    (repeated clicks); lesion and background placement is checked against the
    labels when a run uses the files (``podium-clicks LABELS DIR --check`` does
    it beforehand).
    """

    created: bool
    warnings: list[str]


class InteractiveCaseOut(BaseModel):
    """One case × paradigm of an interactive evaluation.

    ``result`` is ``InteractiveCaseResult.to_dict()``: every step (click count)
    with its Dice, ASSD, MSD and lesion-wise result, the curve order, AUC and
    final values (docs/evaluation.md, "Interactive phases").
    """

    case: str
    centre: str
    paradigm: str
    status: str
    clicks: int
    dsc_auc: float
    asd_auc: float
    msd_auc: float
    dsc_final: float
    asd_final: float
    msd_final: float
    #: The Dice at 0, 1, ..., N clicks (the curve a plot draws).
    dice_curve: list[float]
    result: dict[str, Any] | None = None


class SubmissionInteractiveOut(BaseModel):
    """A submission's per-case interactive results from its latest evaluation."""

    submission_id: int
    #: ``None`` for a reference entry (it belongs to no team).
    team: TeamRef | None
    evaluation_id: int | None
    scorer_version: str | None
    mode: str | None
    cases: list[InteractiveCaseOut]


class PhaseInteractiveOut(BaseModel):
    """Every counted submission's per-case interactive results (one per team)."""

    phase_id: int
    interaction: InteractionOut
    submissions: list[SubmissionInteractiveOut]
