"""Alembic environment: the URL comes from settings (or from the caller, in tests)."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, text

from backend.config import get_settings
from backend.db import make_engine
from backend.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

#: pg_advisory_lock key of schema migrations ("podium" in ASCII): with several API
#: replicas starting at once, one migrates and the others wait, then find the head.
MIGRATION_LOCK = 0x706F6469756D


def _url() -> str:
    # Tests and the CLI pass the URL explicitly so that one process can migrate
    # several databases; everything else reads PODIUM_DATABASE_URL.
    explicit = config.attributes.get("database_url")
    return str(explicit) if explicit else get_settings().database_url


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``)."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=url.startswith("sqlite"),
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _locked(connection: Connection, *, lock: bool) -> None:
    """Take (or release) the migration lock on PostgreSQL; SQLite is one host, one file."""
    if connection.dialect.name != "postgresql":
        return
    function = "pg_advisory_lock" if lock else "pg_advisory_unlock"
    connection.execute(text(f"SELECT {function}(:key)"), {"key": MIGRATION_LOCK})
    # Session-level lock taken outside the migration transaction: end the implicit one.
    connection.commit()


def run_migrations_online() -> None:
    """Migrate the live database, one process at a time (a PostgreSQL advisory lock)."""
    url = _url()
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            _locked(connection, lock=True)
            try:
                context.configure(
                    connection=connection,
                    target_metadata=target_metadata,
                    render_as_batch=url.startswith("sqlite"),
                    compare_type=True,
                )
                with context.begin_transaction():
                    context.run_migrations()
                connection.commit()
            finally:
                _locked(connection, lock=False)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
