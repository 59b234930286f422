"""phase run contract (the phase's ``container:`` block; NULL keeps the original contract)

Revision ID: c0a7e11d2f30
Revises: 3c1a5e7d9b20
Create Date: 2026-11-30 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "c0a7e11d2f30"
down_revision: str | None = "3c1a5e7d9b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "phases",
        sa.Column(
            "container",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
    )


def downgrade() -> None:
    with op.batch_alter_table("phases") as batch:
        batch.drop_column("container")
