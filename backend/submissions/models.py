"""Submissions, their quota ledger, evaluations and per-case scores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from backend.db import Base, JSONType, UTCDateTime, utcnow
from backend.enums import ScoringMode, SubmissionStatus, str_enum


class Submission(Base):
    """A team's container for a phase.

    ``slot`` is the quota slot it holds (1..limit). The unique ``(team, phase,
    slot)`` constraint is what makes quota atomic: two uploads racing for the
    last slot both try to insert it and the database lets exactly one win. A
    refund sets ``slot`` to NULL, which frees the number for a later upload.
    """

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("team_id", "phase_id", "slot"),
        CheckConstraint("slot IS NULL OR slot >= 1", name="slot_positive"),
        # Exactly one image source: an uploaded tarball or a pinned registry image.
        CheckConstraint(
            "(tarball_path IS NULL) <> (image_reference IS NULL)", name="one_image_source"
        ),
        Index("ix_submissions_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), index=True
    )
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"), index=True)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    slot: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[SubmissionStatus] = mapped_column(
        str_enum(SubmissionStatus, "submission_status"), default=SubmissionStatus.QUEUED
    )
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    failure_class: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text, default="")
    log_tail: Mapped[str] = mapped_column(Text, default="")
    #: sha256 of the uploaded tarball, computed while streaming (``None`` for a pushed image).
    tarball_sha256: Mapped[str | None] = mapped_column(String(64))
    #: The digest of the image's config (``sha256:``): the image ID on the classic store.
    image_digest: Mapped[str] = mapped_column(String(80))
    #: The names it was submitted under (the tarball's tags, or the pushed reference).
    image_tags: Mapped[list[str]] = mapped_column(JSONType, default=list)
    #: The tarball's size, or a pushed image's compressed size in the registry.
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    #: Tarball path relative to the data root (``None`` for a pushed image).
    tarball_path: Mapped[str | None] = mapped_column(String(1000))
    #: A pushed image: the digest of its (linux/amd64) manifest, pinned at submission.
    manifest_digest: Mapped[str | None] = mapped_column(String(80))
    #: A pushed image: Podium's protected copy, ``<repository>@<manifest digest>`` in its
    #: registry (no host), which the worker pulls (:mod:`backend.submissions.images`).
    image_reference: Mapped[str | None] = mapped_column(String(400))
    #: The broker queue its evaluation was sent to (``None`` before this was recorded):
    #: the reaper sends a requeued run back there, to a worker of the same host class.
    queue: Mapped[str | None] = mapped_column(String(200))
    selected: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    runtime_s: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    evaluations: Mapped[list[Evaluation]] = relationship(back_populates="submission", lazy="raise")


class QuotaLedgerEntry(Base):
    """One movement of a team's quota: ``-1`` when a slot is taken, ``+1`` on refund."""

    __tablename__ = "quota_ledger"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"))
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    slot: Mapped[int] = mapped_column(Integer)
    change: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_quota_ledger_team_phase", "team_id", "phase_id"),
        CheckConstraint("change IN (-1, 1)", name="unit_change"),
    )


class Evaluation(Base):
    """One scoring of a submission against given label-set versions with a given scorer."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    #: ``{paradigm: {"label_set_id", "version", "sha256"}}`` as scored.
    label_sets: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    scorer_version: Mapped[str] = mapped_column(String(100))
    mode: Mapped[ScoringMode] = mapped_column(
        str_enum(ScoringMode, "scoring_mode"), default=ScoringMode.PAPER
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    submission: Mapped[Submission] = relationship(back_populates="evaluations", lazy="raise")


def board_summary(result: dict[str, Any]) -> dict[str, Any]:
    """A stored case result as boards read it: everything but the per-lesion list."""
    return {key: value for key, value in result.items() if key != "lesions"}


def _summary_default(context: Any) -> dict[str, Any] | None:
    """``summary`` from the ``result`` a Core INSERT writes."""
    params = context.get_current_parameters()
    result = params.get("result")
    return None if result is None else board_summary(result)


class CaseScore(Base):
    """``scoring.results.CaseResult.to_dict()`` for one case and paradigm of an evaluation."""

    __tablename__ = "case_scores"
    __table_args__ = (UniqueConstraint("evaluation_id", "case_id", "paradigm"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    paradigm: Mapped[str] = mapped_column(String(50))
    #: ``ok`` | ``missing`` | ``invalid``, copied out of ``result`` for filtering.
    status: Mapped[str] = mapped_column(String(16), index=True)
    dice: Mapped[float] = mapped_column(Float)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)
    #: ``result`` without its per-lesion ``lesions`` list: what leaderboards read (sums,
    #: counts, size records); the list is most of a real result. Derived from ``result``
    #: (:func:`board_summary`) on insert, on assignment through the ORM, and by
    #: :func:`backend.submissions.repository.upsert_case_score`, the one writer that
    #: replaces a result.
    summary: Mapped[dict[str, Any]] = mapped_column(JSONType, default=_summary_default)

    @validates("result")
    def _derive_summary(self, _key: str, result: dict[str, Any]) -> dict[str, Any]:
        self.summary = board_summary(result)
        return result
