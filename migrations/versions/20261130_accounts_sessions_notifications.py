"""accounts: session tokens, team review notes, pending sign-ups and resets, rate-limit hits, challenge webhooks

Revision ID: 3c1a5e7d9b20
Revises: 8ea9b8b0c7a7
Create Date: 2026-11-30 00:00:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import backend.db

revision: str = "3c1a5e7d9b20"
down_revision: str | None = "8ea9b8b0c7a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "api_tokens",
        sa.Column("kind", sa.String(length=16), server_default="api", nullable=False),
    )
    op.add_column("teams", sa.Column("review_note", sa.String(length=500), nullable=True))
    op.create_table(
        "account_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("password_hash", sa.String(length=400), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_account_tokens_token_hash")),
    )
    op.create_index(
        "ix_account_tokens_email_purpose", "account_tokens", ["email", "purpose"], unique=False
    )
    op.create_table(
        "rate_limit_hits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.String(length=400), nullable=False),
        sa.Column("at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limit_hits")),
    )
    op.create_index(
        "ix_rate_limit_hits_bucket_at", "rate_limit_hits", ["bucket", "at"], unique=False
    )
    op.create_table(
        "challenge_webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("challenge_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=False),
        sa.Column("created_at", backend.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_status", sa.String(length=400), nullable=True),
        sa.Column("last_at", backend.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["challenge_id"],
            ["challenges.id"],
            name=op.f("fk_challenge_webhooks_challenge_id_challenges"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_challenge_webhooks")),
        sa.UniqueConstraint("challenge_id", name=op.f("uq_challenge_webhooks_challenge_id")),
    )


def downgrade() -> None:
    op.drop_table("challenge_webhooks")
    op.drop_index("ix_rate_limit_hits_bucket_at", table_name="rate_limit_hits")
    op.drop_table("rate_limit_hits")
    op.drop_index("ix_account_tokens_email_purpose", table_name="account_tokens")
    op.drop_table("account_tokens")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("teams") as batch:
        batch.drop_column("review_note")
