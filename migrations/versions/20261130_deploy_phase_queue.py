"""phase queue (the host class whose workers run a phase's evaluations)

Revision ID: 3c51d0e7a2f4
Revises: 3f6c1d2a8b77
Create Date: 2026-11-30 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3c51d0e7a2f4"
down_revision: str | None = "3f6c1d2a8b77"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("phases", sa.Column("queue", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("phases") as batch:
        batch.drop_column("queue")
