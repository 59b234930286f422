"""leaderboard generations (cache invalidation counter per phase)

Revision ID: 5d2c7e1a9b40
Revises: 108ffcb7dbd1
Create Date: 2026-11-27 04:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "5d2c7e1a9b40"
down_revision: str | None = "108ffcb7dbd1"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "leaderboard_generations",
        sa.Column("phase_id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("updated_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["phase_id"],
            ["phases.id"],
            name=op.f("fk_leaderboard_generations_phase_id_phases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("phase_id", name=op.f("pk_leaderboard_generations")),
    )


def downgrade() -> None:
    op.drop_table("leaderboard_generations")
