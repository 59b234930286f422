"""Request and response bodies of the write-up endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class MethodIn(BaseModel):
    """A team's method: its name on the board and a link (code, paper, page)."""

    name: str = Field(min_length=1, max_length=200)
    link: str = Field(default="", max_length=1000, pattern=r"^(https?://\S+)?$")


class WriteupOut(BaseModel):
    """A team's write-up in a phase."""

    team_id: int
    team: str
    phase_id: int
    method_name: str
    method_link: str
    pdf_size: int | None
    pdf_sha256: str | None
    pdf_uploaded_at: datetime | None
    pdf_url: str | None
    required: bool
    max_mb: int
