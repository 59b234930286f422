"""Response bodies of the submission endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from backend.enums import SubmissionStatus


class SubmissionOut(BaseModel):
    """A submission as its team sees it.

    ``log_tail`` is ``None`` where the team may not read the container's log: a
    final-phase run sees the hidden test images, and its output could carry
    them (see :func:`backend.submissions.service.logs_visible`).
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
    tarball_sha256: str
    size_bytes: int
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    runtime_s: float | None


class LedgerEntryOut(BaseModel):
    """One quota movement: -1 when a slot is taken, +1 when it is refunded."""

    model_config = ConfigDict(from_attributes=True)

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
    ledger: list[LedgerEntryOut]


class TeamSubmissionsOut(BaseModel):
    """A team's submissions to a phase with its remaining quota."""

    team_id: int
    phase_id: int
    quota: QuotaOut
    submissions: list[SubmissionOut]
