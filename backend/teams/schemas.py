"""Request and response bodies of the team endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class TeamIn(BaseModel):
    """A new team."""

    name: str = Field(min_length=1, max_length=200)


class JoinIn(BaseModel):
    """An invitation code from a team's captain."""

    invite_code: str = Field(min_length=1, max_length=64)


class MemberIn(BaseModel):
    """A user to add to a team."""

    user_id: int


class TeamUpdateIn(BaseModel):
    """Organiser changes to a team."""

    approved: bool | None = None
    organiser_affiliated: bool | None = None
    #: Why the team is declined (with ``approved: false``), shown to the team.
    note: str | None = Field(default=None, max_length=500)


class MemberOut(BaseModel):
    """A team member."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    display_name: str


class TeamOut(BaseModel):
    """A team; ``invite_code`` only for its members and organisers.

    ``waiting`` says in words why the team cannot submit yet (``None`` once approved);
    ``can_leave`` whether the viewer may still leave it (before its first submission).
    """

    id: int
    challenge_id: int
    name: str
    #: The team's registry namespace below its challenge (``<challenge>/<slug>/<image>``).
    slug: str
    captain_id: int
    approved: bool
    organiser_affiliated: bool
    created_at: datetime
    members: list[MemberOut]
    invite_code: str | None = None
    waiting: str | None = None
    review_note: str | None = None
    has_submitted: bool = False
    can_leave: bool = False
