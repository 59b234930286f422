"""case score summary (the result without its per-lesion list, for leaderboards)

Revision ID: 5c2e8f1a7d93
Revises: 7b1e5a9c4d02
Create Date: 2026-11-30 07:10:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "5c2e8f1a7d93"
down_revision: str | None = "7b1e5a9c4d02"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_TYPE = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.add_column("case_scores", sa.Column("summary", JSON_TYPE, nullable=True))
    # Existing rows: the database strips the list itself (one statement, no round trips).
    if op.get_bind().dialect.name == "postgresql":
        op.execute("UPDATE case_scores SET summary = result - 'lesions'")
    else:
        op.execute("UPDATE case_scores SET summary = json_remove(result, '$.lesions')")
    with op.batch_alter_table("case_scores") as batch:
        batch.alter_column("summary", existing_type=JSON_TYPE, nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("case_scores") as batch:
        batch.drop_column("summary")
