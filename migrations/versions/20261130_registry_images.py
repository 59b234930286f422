"""registry images: team slugs, pushed-image submissions, registry notifications

A team's slug is its namespace in the registry (``<challenge>/<slug>/<image>``);
existing teams get the slug of their name, numbered where two collide. A
submission now holds either a tarball or a pinned registry image.

Revision ID: 3f6c1d2a9e84
Revises: 3c51d0e7a2f4
Create Date: 2026-11-30 00:00:00+00:00
"""

import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "3f6c1d2a9e84"
down_revision: str | None = "3c51d0e7a2f4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _slug(name: str) -> str:
    # Frozen copy of backend.teams.slugs.team_slug at this revision.
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:40].strip("-") or "team"


def _backfill_slugs() -> None:
    connection = op.get_bind()
    teams = sa.table(
        "teams", sa.column("id"), sa.column("challenge_id"), sa.column("name"), sa.column("slug")
    )
    taken: dict[int, set[str]] = {}
    rows = connection.execute(
        sa.select(teams.c.id, teams.c.challenge_id, teams.c.name).order_by(teams.c.id)
    )
    for team_id, challenge_id, name in rows.all():
        used = taken.setdefault(challenge_id, set())
        base = candidate = _slug(name)
        number = 1
        while candidate in used:
            number += 1
            suffix = f"-{number}"
            candidate = base[: 40 - len(suffix)].strip("-") + suffix
        used.add(candidate)
        connection.execute(teams.update().where(teams.c.id == team_id).values(slug=candidate))


def upgrade() -> None:
    op.add_column("teams", sa.Column("slug", sa.String(length=64), nullable=True))
    _backfill_slugs()
    with op.batch_alter_table("teams") as batch:
        batch.alter_column("slug", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint(op.f("uq_teams_challenge_id_slug"), ["challenge_id", "slug"])

    with op.batch_alter_table("submissions") as batch:
        batch.add_column(sa.Column("manifest_digest", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("image_reference", sa.String(length=400), nullable=True))
        batch.alter_column("tarball_sha256", existing_type=sa.String(length=64), nullable=True)
        batch.alter_column("tarball_path", existing_type=sa.String(length=1000), nullable=True)
        batch.create_check_constraint(
            op.f("ck_submissions_one_image_source"),
            "(tarball_path IS NULL) <> (image_reference IS NULL)",
        )

    op.create_table(
        "registry_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("repository", sa.String(length=255), nullable=False),
        sa.Column("tag", sa.String(length=128), nullable=True),
        sa.Column("digest", sa.String(length=80), nullable=False),
        sa.Column("media_type", sa.String(length=200), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("actor", sa.String(length=320), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_registry_events_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_registry_events_event_id")),
    )
    op.create_index(
        "ix_registry_events_repository_at", "registry_events", ["repository", "at"], unique=False
    )
    op.create_index(
        op.f("ix_registry_events_team_id"), "registry_events", ["team_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_registry_events_team_id"), table_name="registry_events")
    op.drop_index("ix_registry_events_repository_at", table_name="registry_events")
    op.drop_table("registry_events")
    # Pushed-image submissions have no tarball: they cannot survive the downgrade.
    op.execute("DELETE FROM submissions WHERE image_reference IS NOT NULL")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_constraint(op.f("ck_submissions_one_image_source"), type_="check")
        batch.alter_column("tarball_path", existing_type=sa.String(length=1000), nullable=False)
        batch.alter_column("tarball_sha256", existing_type=sa.String(length=64), nullable=False)
        batch.drop_column("image_reference")
        batch.drop_column("manifest_digest")
    with op.batch_alter_table("teams") as batch:
        batch.drop_constraint(op.f("uq_teams_challenge_id_slug"), type_="unique")
        batch.drop_column("slug")
