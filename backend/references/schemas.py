"""Request and response bodies of the reference-entry endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from backend.enums import SubmissionStatus
from backend.leaderboard.rules import ReferenceKind


class ReferenceIn(BaseModel):
    """What an organiser says about a reference entry (query parameters of the upload)."""

    name: str = Field(min_length=1, max_length=200)
    kind: ReferenceKind
    link: str = Field(default="", max_length=1000, pattern=r"^(https?://\S+)?$")
    description: str = Field(default="", max_length=2000)


class ReferenceOut(BaseModel):
    """A reference entry with its scoring state."""

    id: int
    phase_id: int
    name: str
    kind: ReferenceKind
    source: str
    link: str
    description: str
    submission_id: int
    status: SubmissionStatus
    message: str
    created_at: datetime
    evaluation_id: int | None
