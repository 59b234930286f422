"""Settings: the only place the environment is read (``PODIUM_*`` variables)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

#: Values that look like a secret but are the ones shipped in examples.
PLACEHOLDER_SECRETS = frozenset({"", "changethis", "change-me", "changeme", "secret", "podium"})

GIB = 1024**3


def _default_data_root() -> Path:
    return Path.home() / ".local" / "share" / "podium"


class Settings(BaseSettings):
    """Every setting the API, the CLI and the migrations read.

    ``database_url`` defaults to an SQLite file under ``data_root`` (the embedded
    mode); compose and the tests point it at PostgreSQL.
    """

    # An empty variable means "the default": compose passes every documented setting
    # through from .env as ${PODIUM_X:-}, so one left unset there must not read as "".
    model_config = SettingsConfigDict(
        env_prefix="PODIUM_", env_file=None, extra="ignore", env_ignore_empty=True
    )

    environment: Literal["development", "test", "production"] = "development"
    secret_key: str = Field(default="changethis", description="Pepper for API token hashes.")
    data_root: Path = Field(default_factory=_default_data_root)
    database_url: str = ""
    broker_url: str = "redis://localhost:6379/0"
    job_backend: Literal["celery", "local"] = "local"
    evaluation_queue: str = "evaluation"
    max_upload_bytes: int = Field(default=30 * GIB, gt=0)
    upload_chunk_bytes: int = Field(default=1024 * 1024, gt=0)
    token_ttl_days: int = Field(default=90, gt=0)
    log_level: str = "INFO"
    log_json: bool = True
    docker_socket: Path = Path("/var/run/docker.sock")
    #: Where submissions, inputs, label sets and predictions live (backend/storage/).
    storage_backend: Literal["filesystem", "s3"] = "filesystem"
    s3_bucket: str = ""
    s3_prefix: str = ""
    s3_endpoint_url: str | None = None
    #: Whether ``/readyz`` asks the Docker engine; unset: only when evaluations run in-process.
    ready_check_docker: bool | None = None

    @model_validator(mode="after")
    def _derive_and_check(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_root / 'podium.sqlite3'}"
        if self.environment != "development" and self.secret_key.strip() in PLACEHOLDER_SECRETS:
            raise ValueError(
                f"PODIUM_SECRET_KEY is a placeholder ({self.secret_key!r}) while "
                f"PODIUM_ENVIRONMENT={self.environment}: set it to a long random string, "
                "e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return self

    @property
    def uploads_dir(self) -> Path:
        """Where submission tarballs live (never mounted into a container)."""
        return self.data_root / "submissions"

    @property
    def staging_dir(self) -> Path:
        """Partial uploads; on the same file system so the final move is a rename."""
        return self.data_root / "staging"

    @property
    def challenge_files_dir(self) -> Path:
        """Test inputs and label sets."""
        return self.data_root / "challenges"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
