"""interactive phases: the phase's ``interaction:`` block, uploaded click files, per-case click curves

Revision ID: 7b1e5a9c4d02
Revises: 3b7e0c2d9f14
Create Date: 2026-11-30 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import backend.db

revision: str = "7b1e5a9c4d02"
down_revision: str | None = "3b7e0c2d9f14"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "click_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("storage_path", sa.String(length=1000), nullable=False),
        sa.Column("file_count", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_click_sets_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["phases.id"],
            name=op.f("fk_click_sets_phase_id_phases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_click_sets")),
        sa.UniqueConstraint("phase_id", "version", name=op.f("uq_click_sets_phase_id_version")),
    )
    op.create_index(
        "uq_click_sets_one_active",
        "click_sets",
        ["phase_id"],
        unique=True,
        postgresql_where=sa.text("active"),
        sqlite_where=sa.text("active"),
    )
    op.create_table(
        "interactive_case_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("paradigm", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("click_set_id", sa.Integer(), nullable=True),
        sa.Column("dsc_auc", sa.Float(), nullable=False),
        sa.Column("asd_auc", sa.Float(), nullable=False),
        sa.Column("msd_auc", sa.Float(), nullable=False),
        sa.Column("dsc_final", sa.Float(), nullable=False),
        sa.Column("asd_final", sa.Float(), nullable=False),
        sa.Column("msd_final", sa.Float(), nullable=False),
        sa.Column(
            "result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_interactive_case_scores_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["click_set_id"],
            ["click_sets.id"],
            name=op.f("fk_interactive_case_scores_click_set_id_click_sets"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["evaluations.id"],
            name=op.f("fk_interactive_case_scores_evaluation_id_evaluations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactive_case_scores")),
        sa.UniqueConstraint(
            "evaluation_id",
            "case_id",
            "paradigm",
            name=op.f("uq_interactive_case_scores_evaluation_id_case_id_paradigm"),
        ),
    )
    op.create_index(
        op.f("ix_interactive_case_scores_evaluation_id"),
        "interactive_case_scores",
        ["evaluation_id"],
        unique=False,
    )
    op.add_column(
        "phases",
        sa.Column(
            "interaction",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("phases") as batch:
        batch.drop_column("interaction")
    op.drop_index(
        op.f("ix_interactive_case_scores_evaluation_id"), table_name="interactive_case_scores"
    )
    op.drop_table("interactive_case_scores")
    op.drop_index(
        "uq_click_sets_one_active",
        table_name="click_sets",
        postgresql_where=sa.text("active"),
        sqlite_where=sa.text("active"),
    )
    op.drop_table("click_sets")
