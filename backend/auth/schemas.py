"""Request and response bodies of the auth endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from backend.enums import Role

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class RegisterIn(BaseModel):
    """A new participant account."""

    email: str = Field(pattern=_EMAIL, max_length=320, examples=["ada@example.org"])
    password: str = Field(min_length=1, max_length=200)
    display_name: str = Field(min_length=1, max_length=200)


class LinkTokenIn(BaseModel):
    """The token of an e-mailed link (the part after ``#verify=`` or ``#reset=``)."""

    token: str = Field(min_length=1, max_length=200)


class ResetRequestIn(BaseModel):
    """The address to send a reset link to."""

    email: str = Field(pattern=_EMAIL, max_length=320)


class ResetConfirmIn(BaseModel):
    """A reset link's token and the new password."""

    token: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=200)


class MessageOut(BaseModel):
    """What happened, in words."""

    message: str


class LoginIn(BaseModel):
    """E-mail address and password."""

    email: str = Field(max_length=320)
    password: str = Field(max_length=200)


class UserOut(BaseModel):
    """A user as others may see them."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    role: Role


class TokenIn(BaseModel):
    """A named token for scripts and CI."""

    name: str = Field(min_length=1, max_length=200, examples=["ci upload"])


class TokenOut(BaseModel):
    """A token's metadata (never the token itself)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class IssuedTokenOut(TokenOut):
    """A new token: ``token`` is shown this once."""

    token: str


class RoleIn(BaseModel):
    """The role to give a user."""

    role: Role
