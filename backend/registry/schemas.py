"""Bodies of the registry endpoints."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class TokenOut(BaseModel):
    """The Docker registry token specification's answer, plus what was refused and why."""

    token: str
    access_token: str = Field(description="The same token (OAuth2 clients read this name).")
    expires_in: int = Field(description="Seconds the token is valid.")
    issued_at: datetime
    refused: list[dict[str, str]] = Field(
        default_factory=list,
        description="Scopes (or parts) not granted, each with the reason.",
    )


class NamespaceOut(BaseModel):
    """Where the caller's team pushes in one challenge."""

    challenge: str
    challenge_title: str
    team: str
    team_slug: str
    prefix: str = Field(description="Push to PREFIX<image>:<tag>.")
    push: bool
    note: str | None = None


class RegistryOut(BaseModel):
    """The registry's address and the caller's repository prefixes."""

    enabled: bool
    address: str | None
    username: str = Field(description="The user name for `docker login` (your e-mail address).")
    login: str | None = Field(
        description="The `docker login` command (the password is an API token)."
    )
    pull_everything: bool = Field(description="Organisers and admins may pull every image.")
    namespaces: list[NamespaceOut]


class PushedTagOut(BaseModel):
    """One tag of a team's repository; ``reference`` is what to submit."""

    tag: str
    reference: str
    digest: str | None
    pushed_at: datetime | None
    pushed_by: str | None


class PushedRepositoryOut(BaseModel):
    """One of a team's repositories."""

    repository: str
    reference: str
    tags: list[PushedTagOut]


class TeamImagesOut(BaseModel):
    """A team's pushed repositories and tags in a challenge."""

    challenge: str
    prefix: str
    repositories: list[PushedRepositoryOut]


class NotificationsOut(BaseModel):
    """How many new events a notification carried."""

    recorded: int
