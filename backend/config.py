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
    # Accounts, browser sessions, e-mail (backend/auth, backend/web, backend/notifications).
    #: The address people reach Podium at, for links in e-mails (never taken from a request's
    #: Host header, which a caller controls); required in production when SMTP is set.
    public_url: str = ""
    #: Browser sessions (cookie) last this long; bearer tokens keep ``token_ttl_days``.
    session_ttl_hours: int = Field(default=24 * 14, gt=0)
    #: ``Secure`` cookies; unset: in production only (the tests and the demo run on http).
    cookie_secure: bool | None = None
    #: Sign-in, sign-up and reset requests allowed per e-mail address, and per client
    #: address, in any ``auth_rate_window_s`` seconds.
    auth_rate_per_address: int = Field(default=10, gt=0)
    auth_rate_per_ip: int = Field(default=60, gt=0)
    auth_rate_window_s: int = Field(default=900, gt=0)
    #: Rate-limit counters in Redis (e.g. ``redis://redis:6379/2``); empty: in the database.
    rate_limit_redis_url: str = ""
    verify_link_ttl_hours: int = Field(default=48, gt=0)
    reset_link_ttl_minutes: int = Field(default=60, gt=0)
    #: SMTP server for notifications; empty host: e-mails are written to the log instead.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout_s: float = Field(default=30.0, gt=0)
    mail_from: str = "Podium <podium@localhost>"
    #: The queue notification jobs (e-mails, webhooks) go to: not a GPU queue, so an
    #: e-mail never waits behind an hour-long evaluation.
    notification_queue: str = "notifications"
    webhook_attempts: int = Field(default=5, gt=0)
    webhook_backoff_s: float = Field(default=10.0, ge=0)
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
        if self.environment == "production" and self.smtp_host and not self.public_url:
            raise ValueError(
                "PODIUM_PUBLIC_URL is empty while PODIUM_SMTP_HOST is set: e-mailed links need "
                "the address people reach Podium at, e.g. https://podium.example.org"
            )
        return self

    @property
    def secure_cookies(self) -> bool:
        """Whether session cookies carry ``Secure``."""
        return (
            self.environment == "production" if self.cookie_secure is None else self.cookie_secure
        )

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
