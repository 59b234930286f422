"""board: ranking and write-up rules per phase, reference entries, write-ups

Revision ID: 3b7e0c2d9f14
Revises: 3f6c1d2a9e84
Create Date: 2026-11-30 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db

revision: str = "3b7e0c2d9f14"
down_revision: str | None = "3f6c1d2a9e84"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("phases") as batch:
        batch.add_column(sa.Column("ranking", JSON, nullable=False, server_default="{}"))
        batch.add_column(sa.Column("writeup", JSON, nullable=False, server_default="{}"))
    with op.batch_alter_table("phases") as batch:
        batch.alter_column("ranking", server_default=None)
        batch.alter_column("writeup", server_default=None)
    # A reference entry's submission belongs to no team.
    with op.batch_alter_table("submissions") as batch:
        batch.alter_column("team_id", existing_type=sa.Integer(), nullable=True)
    op.create_table(
        "reference_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("link", sa.String(length=1000), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('baseline', 'human', 'off-the-shelf')",
            name=op.f("ck_reference_entries_kind_known"),
        ),
        sa.CheckConstraint(
            "source IN ('container', 'predictions')",
            name=op.f("ck_reference_entries_source_known"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_reference_entries_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["phases.id"],
            name=op.f("fk_reference_entries_phase_id_phases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_reference_entries_submission_id_submissions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_entries")),
        sa.UniqueConstraint("phase_id", "name", name=op.f("uq_reference_entries_phase_id_name")),
        sa.UniqueConstraint("submission_id", name=op.f("uq_reference_entries_submission_id")),
    )
    op.create_index(
        op.f("ix_reference_entries_phase_id"), "reference_entries", ["phase_id"], unique=False
    )
    op.create_table(
        "writeups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column("method_name", sa.String(length=200), nullable=False),
        sa.Column("method_link", sa.String(length=1000), nullable=False),
        sa.Column("pdf_path", sa.String(length=1000), nullable=True),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=True),
        sa.Column("pdf_size", sa.BigInteger(), nullable=True),
        sa.Column("pdf_uploaded_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["phases.id"],
            name=op.f("fk_writeups_phase_id_phases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_writeups_team_id_teams"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_writeups_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_writeups")),
        sa.UniqueConstraint("team_id", "phase_id", name=op.f("uq_writeups_team_id_phase_id")),
    )
    op.create_index(op.f("ix_writeups_phase_id"), "writeups", ["phase_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_writeups_phase_id"), table_name="writeups")
    op.drop_table("writeups")
    op.drop_index(op.f("ix_reference_entries_phase_id"), table_name="reference_entries")
    op.drop_table("reference_entries")
    op.execute("DELETE FROM submissions WHERE team_id IS NULL")
    with op.batch_alter_table("submissions") as batch:
        batch.alter_column("team_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("phases") as batch:
        batch.drop_column("writeup")
        batch.drop_column("ranking")
