"""submission queue (the broker queue its evaluation was sent to, for the reaper)

Revision ID: 8ea9b8b0c7a7
Revises: 5d2c7e1a9b40
Create Date: 2026-11-27 05:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "8ea9b8b0c7a7"
down_revision: str | None = "5d2c7e1a9b40"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("queue", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_column("queue")
