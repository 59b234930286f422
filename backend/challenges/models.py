"""Challenge ▸ Task ▸ Phase, centres, cases and label sets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backend.db import Base, JSONType, UTCDateTime, utcnow
from backend.enums import LeaderboardVisibility, PhaseKind, RankingSelection, str_enum


class Challenge(Base):
    """A challenge, identified by its slug in the YAML file."""

    __tablename__ = "challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    requires_team_approval: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    tasks: Mapped[list[Task]] = relationship(back_populates="challenge", lazy="raise")
    centres: Mapped[list[Centre]] = relationship(back_populates="challenge", lazy="raise")


class Task(Base):
    """One segmentation task: which input phase the container sees, which paradigms score it."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("challenge_id", "slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    input_phase: Mapped[str] = mapped_column(String(50))
    #: Scoring paradigms, e.g. ``["lesion", "liver"]``; each has its own label sets.
    paradigms: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: Named metric sets the leaderboard ranks by, e.g. ``{"ranking": ["dice", ...]}``.
    metric_sets: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)

    challenge: Mapped[Challenge] = relationship(back_populates="tasks", lazy="raise")
    phases: Mapped[list[Phase]] = relationship(back_populates="task", lazy="raise")


class Phase(Base):
    """A submission window of a task with its quota, container limits and visibility."""

    __tablename__ = "phases"
    __table_args__ = (
        UniqueConstraint("task_id", "slug"),
        CheckConstraint("closes_at > opens_at", name="window_order"),
        CheckConstraint("submission_limit >= 0", name="limit_nonneg"),
        CheckConstraint("time_limit_s > 0 AND memory_limit_mb > 0", name="limits_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[PhaseKind] = mapped_column(str_enum(PhaseKind, "phase_kind"))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submission_limit: Mapped[int] = mapped_column(Integer)
    time_limit_s: Mapped[int] = mapped_column(Integer, default=3600)
    memory_limit_mb: Mapped[int] = mapped_column(Integer, default=16384)
    gpu: Mapped[bool] = mapped_column(default=True)
    #: Host class (broker queue) of its evaluations; ``None``: the deployment's default.
    queue: Mapped[str | None] = mapped_column(String(200), default=None)
    leaderboard_visibility: Mapped[LeaderboardVisibility] = mapped_column(
        str_enum(LeaderboardVisibility, "leaderboard_visibility"),
        default=LeaderboardVisibility.LIVE,
    )
    ranking_selection: Mapped[RankingSelection] = mapped_column(
        str_enum(RankingSelection, "ranking_selection"), default=RankingSelection.LATEST
    )
    #: The ``container:`` block as written (``backend.challenges.contract``); NULL: the
    #: original run contract.
    container: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)
    #: The YAML ``ranking:`` block (backend.leaderboard.rules.RankingRules), ``{}`` = defaults.
    ranking: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: The YAML ``writeup:`` block (backend.writeups.rules.WriteupRules), ``{}`` = defaults.
    writeup: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    #: The ``interaction:`` block, complete (``backend.interactive.spec``); NULL: not interactive.
    interaction: Mapped[dict[str, Any] | None] = mapped_column(JSONType, default=None)

    task: Mapped[Task] = relationship(back_populates="phases", lazy="raise")
    cases: Mapped[list[Case]] = relationship(back_populates="phase", lazy="raise")


class Centre(Base):
    """An acquisition centre; cases are stratified by it."""

    __tablename__ = "centres"
    __table_args__ = (UniqueConstraint("challenge_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300))

    challenge: Mapped[Challenge] = relationship(back_populates="centres", lazy="raise")


class Case(Base):
    """A hidden test case of a phase, or one of its public sample cases (``is_sample``)."""

    __tablename__ = "cases"
    __table_args__ = (UniqueConstraint("phase_id", "case_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("centres.id", ondelete="RESTRICT"))
    case_key: Mapped[str] = mapped_column(String(200))
    is_sample: Mapped[bool] = mapped_column(default=False)
    #: Input image paths relative to the data root (one per input file).
    input_paths: Mapped[list[str]] = mapped_column(JSONType, default=list)
    input_sha256: Mapped[str | None] = mapped_column(String(64))

    phase: Mapped[Phase] = relationship(back_populates="cases", lazy="raise")
    centre: Mapped[Centre | None] = relationship(lazy="raise")


class LabelSet(Base):
    """A version of a task's labels for one paradigm; at most one active per paradigm."""

    __tablename__ = "label_sets"
    __table_args__ = (
        UniqueConstraint("task_id", "paradigm", "version"),
        Index(
            "uq_label_sets_one_active",
            "task_id",
            "paradigm",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    paradigm: Mapped[str] = mapped_column(String(50))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=False)
    #: Folder relative to the data root; one label file per case, named by case key.
    storage_path: Mapped[str] = mapped_column(String(1000))
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    task: Mapped[Task] = relationship(lazy="raise")
