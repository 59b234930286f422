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

    model_config = SettingsConfigDict(env_prefix="PODIUM_", env_file=None, extra="ignore")

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
    #: Whether ``/readyz`` asks the Docker engine; unset: only when evaluations run in-process.
    ready_check_docker: bool | None = None
    # The image registry Podium is the token server of (docs/deployment.md "The registry").
    #: How Podium reaches the registry's API, e.g. ``http://registry:5000``; empty: no registry.
    registry_url: str = ""
    #: The registry's name in image references (``docker push HOST/...``); default: the
    #: host and port of ``registry_url``.
    registry_host: str = ""
    #: The token realm teams' Docker clients call (written into the registry's config).
    registry_realm: str = "http://127.0.0.1:8000/api/v1/registry/token"
    #: Where the registry posts its notifications (written into the registry's config).
    registry_notify_url: str = "http://127.0.0.1:8000/api/v1/registry/notifications"
    #: The ``service`` and ``issuer`` names the registry checks in each token.
    registry_service: str = "podium-registry"
    registry_issuer: str = "podium"
    registry_token_ttl_s: int = Field(default=300, ge=30, le=3600)
    #: The signing key and certificate; default ``<data root>/registry``.
    registry_key_dir: Path | None = None

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
    def registry_keys(self) -> Path:
        """Where the registry token signing key and its certificate live."""
        return self.registry_key_dir or self.data_root / "registry"

    @property
    def registry_address(self) -> str:
        """The registry's ``host[:port]`` in image references (empty: no registry)."""
        if self.registry_host:
            return self.registry_host
        return self.registry_url.split("://", 1)[-1].split("/", 1)[0] if self.registry_url else ""

    @property
    def challenge_files_dir(self) -> Path:
        """Test inputs and label sets."""
        return self.data_root / "challenges"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
