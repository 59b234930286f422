"""Uploaded click files of a phase, and the per-case results of interactive evaluations.

The lesion-wise result of each case's last prediction (N clicks) is an
ordinary :class:`~backend.submissions.models.CaseScore`, so every board and
export keeps working; the whole click curve is an :class:`InteractiveCaseScore`
beside it, in the same evaluation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, JSONType, UTCDateTime, utcnow


class ClickSet(Base):
    """A version of a static phase's click files (``<case>_clicks.json``); one active per phase."""

    __tablename__ = "click_sets"
    __table_args__ = (
        UniqueConstraint("phase_id", "version"),
        Index(
            "uq_click_sets_one_active",
            "phase_id",
            unique=True,
            postgresql_where=text("active"),
            sqlite_where=text("active"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phase_id: Mapped[int] = mapped_column(ForeignKey("phases.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=False)
    #: Folder relative to the data root holding ``<case>_clicks.json`` files.
    storage_path: Mapped[str] = mapped_column(String(1000))
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InteractiveCaseScore(Base):
    """``scoring.interactive.results.InteractiveCaseResult.to_dict()`` for one case and paradigm.

    The six ranked per-case values are copied out of ``result`` for queries.
    """

    __tablename__ = "interactive_case_scores"
    __table_args__ = (UniqueConstraint("evaluation_id", "case_id", "paradigm"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("evaluations.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    paradigm: Mapped[str] = mapped_column(String(50))
    #: ``ok`` | ``missing`` | ``invalid`` (the worst of its steps).
    status: Mapped[str] = mapped_column(String(16))
    #: N: the case has predictions for 0…N clicks.
    clicks: Mapped[int] = mapped_column(Integer)
    #: The uploaded click set the clicks came from; NULL: simulated.
    click_set_id: Mapped[int | None] = mapped_column(
        ForeignKey("click_sets.id", ondelete="SET NULL")
    )
    dsc_auc: Mapped[float] = mapped_column(Float)
    asd_auc: Mapped[float] = mapped_column(Float)
    msd_auc: Mapped[float] = mapped_column(Float)
    dsc_final: Mapped[float] = mapped_column(Float)
    asd_final: Mapped[float] = mapped_column(Float)
    msd_final: Mapped[float] = mapped_column(Float)
    result: Mapped[dict[str, Any]] = mapped_column(JSONType)
