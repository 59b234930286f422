"""Response bodies of the challenge endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from backend.challenges.contract import RootPolicy, contract_of
from backend.enums import LeaderboardVisibility, PhaseKind, RankingSelection
from backend.interactive.schemas import InteractionOut, effective_interaction


class ContainerOut(BaseModel):
    """The run contract a phase's containers get, every default filled in."""

    args: list[str]
    cases_csv: str | None
    #: ``None``: the original rule, ``<case><ext>`` (several: ``<case>_0000<ext>``, ...).
    input_name: str | None
    shm_size_mb: int
    root_images: RootPolicy


class PhaseOut(BaseModel):
    """A phase as everyone may see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    title: str
    kind: PhaseKind
    opens_at: datetime
    closes_at: datetime
    submission_limit: int
    time_limit_s: int
    memory_limit_mb: int
    gpu: bool
    queue: str | None
    leaderboard_visibility: LeaderboardVisibility
    ranking_selection: RankingSelection
    container: ContainerOut
    #: ``None``: not an interactive phase.
    interaction: InteractionOut | None = None

    _interaction = field_validator("interaction", mode="before")(effective_interaction)

    @field_validator("container", mode="before")
    @classmethod
    def _effective(cls, value: Any, info: ValidationInfo) -> Any:
        # The stored block (or NULL) becomes the contract the phase really runs under.
        if isinstance(value, ContainerOut):
            return value
        return contract_of(value, memory_limit_mb=info.data["memory_limit_mb"]).describe()

    #: The phase's ``ranking:`` and ``writeup:`` blocks (``{}``: the defaults).
    ranking: dict[str, Any]
    writeup: dict[str, Any]


class TaskOut(BaseModel):
    """A task with its phases."""

    id: int
    slug: str
    title: str
    input_phase: str
    paradigms: list[str]
    metric_sets: dict[str, Any]
    phases: list[PhaseOut]


class ChallengeOut(BaseModel):
    """A challenge with its tasks and phases (no hidden case lists)."""

    id: int
    slug: str
    title: str
    description: str
    requires_team_approval: bool
    tasks: list[TaskOut]


class ChallengeSummary(BaseModel):
    """A challenge in a list."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    slug: str
    title: str


class CaseOut(BaseModel):
    """A case as organisers see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    case_key: str
    centre_id: int | None
    is_sample: bool
    input_paths: list[str]
    input_sha256: str | None


class InputsStoredOut(BaseModel):
    """Result of an inputs upload."""

    archive_sha256: str
    cases_updated: list[str]
    cases_total: int


class LabelSetOut(BaseModel):
    """A label-set version."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    task_id: int
    paradigm: str
    version: int
    sha256: str
    active: bool
    file_count: int
    size_bytes: int
    created_at: datetime


class LabelSetStoredOut(LabelSetOut):
    """Result of a label upload; ``created`` is false when identical labels were stored before."""

    created: bool
