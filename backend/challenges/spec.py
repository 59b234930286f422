"""The challenge YAML file, as validated models (``podium challenge apply FILE``).

Paths in the file (case inputs, label folders) are relative to the file; the
API endpoint ignores them (files arrive as archive uploads there).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from backend.challenges.contract import ContainerSpec, check_against_memory
from backend.enums import LeaderboardVisibility, PhaseKind, RankingSelection
from backend.errors import DomainError
from backend.interactive.spec import InteractionSpec, check_interaction, check_metric_sets
from backend.leaderboard.rules import RankingRules
from backend.writeups.rules import WriteupRules

_SLUG = r"^[a-z0-9][a-z0-9_-]*$"
_KEY = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CentreSpec(_Strict):
    """An acquisition centre."""

    code: str = Field(pattern=_SLUG, max_length=100)
    name: str = Field(max_length=300)


class CaseSpec(_Strict):
    """A case: its key (the file name without extension), centre and input files."""

    key: str = Field(pattern=_KEY, max_length=200)
    centre: str | None = None
    inputs: list[str] = Field(default_factory=list)


class PhaseSpec(_Strict):
    """A submission window with its quota, limits, visibility and cases."""

    slug: str = Field(pattern=_SLUG, max_length=100)
    title: str = Field(max_length=300)
    kind: PhaseKind
    opens_at: AwareDatetime
    closes_at: AwareDatetime
    submission_limit: int = Field(ge=0)
    time_limit_s: int = Field(default=3600, gt=0)
    memory_limit_mb: int = Field(default=16384, gt=0)
    gpu: bool = True
    #: The host class whose workers run it (a broker queue name); unset: the
    #: deployment's default queue (``PODIUM_EVALUATION_QUEUE``).
    queue: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=200)
    leaderboard_visibility: LeaderboardVisibility = LeaderboardVisibility.LIVE
    ranking_selection: RankingSelection = RankingSelection.LATEST
    ranking: RankingRules = Field(default_factory=RankingRules)
    writeup: WriteupRules = Field(default_factory=WriteupRules)
    cases: list[CaseSpec] = Field(default_factory=list)
    sample_cases: list[CaseSpec] = Field(default_factory=list)
    #: The run contract (:mod:`backend.challenges.contract`); absent: the original one.
    container: ContainerSpec | None = None
    #: Makes the phase interactive (:mod:`backend.interactive.spec`); absent: it is not.
    interaction: InteractionSpec | None = None

    @model_validator(mode="after")
    def _check(self) -> PhaseSpec:
        if self.closes_at <= self.opens_at:
            raise ValueError(f"phase {self.slug}: closes_at must be after opens_at")
        try:
            check_against_memory(self.container, memory_limit_mb=self.memory_limit_mb)
        except ValueError as exc:
            raise ValueError(f"phase {self.slug}: {exc}") from exc
        keys = [c.key for c in [*self.cases, *self.sample_cases]]
        dupes = sorted({k for k in keys if keys.count(k) > 1})
        if dupes:
            raise ValueError(f"phase {self.slug}: case keys listed twice: {', '.join(dupes)}")
        return self

    def stored_settings(self) -> dict[str, Any]:
        """The ``ranking`` and ``writeup`` blocks as the phase stores them (plain JSON)."""
        return {
            "ranking": self.ranking.model_dump(mode="json"),
            "writeup": self.writeup.model_dump(mode="json"),
        }


class TaskSpec(_Strict):
    """A task: input phase, scoring paradigms (each with its label folder) and phases."""

    slug: str = Field(pattern=_SLUG, max_length=100)
    title: str = Field(max_length=300)
    input_phase: str = Field(max_length=50)
    paradigms: list[str] = Field(min_length=1)
    metric_sets: dict[str, list[str]] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    phases: list[PhaseSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> TaskSpec:
        unknown = sorted(set(self.labels) - set(self.paradigms))
        if unknown:
            raise ValueError(f"task {self.slug}: labels for unknown paradigms {unknown}")
        slugs = [p.slug for p in self.phases]
        if len(set(slugs)) != len(slugs):
            raise ValueError(f"task {self.slug}: phase slugs must be unique")
        for phase in self.phases:
            try:
                check_interaction(
                    phase.interaction, paradigms=self.paradigms, time_limit_s=phase.time_limit_s
                )
            except ValueError as exc:
                raise ValueError(f"task {self.slug}, phase {phase.slug}: {exc}") from exc
        try:
            check_metric_sets(
                self.metric_sets, phases={p.slug: p.interaction is not None for p in self.phases}
            )
        except ValueError as exc:
            raise ValueError(f"task {self.slug}: {exc}") from exc
        return self


class ChallengeSpec(_Strict):
    """A whole challenge."""

    slug: str = Field(pattern=_SLUG, max_length=100)
    title: str = Field(max_length=300)
    description: str = ""
    requires_team_approval: bool = False
    centres: list[CentreSpec] = Field(default_factory=list)
    tasks: list[TaskSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> ChallengeSpec:
        codes = {c.code for c in self.centres}
        if len(codes) != len(self.centres):
            raise ValueError("centre codes must be unique")
        slugs = [t.slug for t in self.tasks]
        if len(set(slugs)) != len(slugs):
            raise ValueError("task slugs must be unique")
        for task in self.tasks:
            for phase in task.phases:
                for case in [*phase.cases, *phase.sample_cases]:
                    if case.centre is not None and case.centre not in codes:
                        raise ValueError(
                            f"case {case.key} (task {task.slug}, phase {phase.slug}) names "
                            f"centre {case.centre!r}, which is not under `centres`"
                        )
        return self


def parse_challenge_yaml(text: str | bytes) -> ChallengeSpec:
    """Parse and validate a challenge file; every problem is in the one error message."""
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DomainError(f"the challenge file is not valid YAML: {exc}", 422) from exc
    if not isinstance(data, dict):
        raise DomainError(
            "the challenge file must be a YAML mapping (slug, title, tasks, ...)", 422
        )
    try:
        return ChallengeSpec.model_validate(data)
    except ValidationError as exc:
        by_key = [
            {"key": ".".join(str(p) for p in err["loc"]) or "file", "message": err["msg"]}
            for err in exc.errors()
        ]
        problems = "; ".join(f"{e['key']}: {e['message']}" for e in by_key)
        raise DomainError(f"the challenge file is invalid: {problems}", 422, detail=by_key) from exc


def phase_window(opens_at: datetime, closes_at: datetime) -> str:
    """``'2026-06-01 00:00 UTC – 2026-07-01 00:00 UTC'``."""
    fmt = "%Y-%m-%d %H:%M UTC"
    return f"{opens_at.strftime(fmt)} – {closes_at.strftime(fmt)}"
