"""submission states without ``received`` (never set; the lifecycle starts at ``queued``)

Revision ID: 3f6c1d2a8b77
Revises: c0a7e11d2f30
Create Date: 2026-11-30 00:00:00+00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3f6c1d2a8b77"
down_revision: str | None = "c0a7e11d2f30"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ck_submissions_submission_status"
_STATES = (
    "queued",
    "preflight",
    "running",
    "scoring",
    "succeeded",
    "failed",
    "failed_preflight",
    "error",
    "cancelled",
)


def _check(states: Sequence[str]) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in states) + ")"


def upgrade() -> None:
    # No code ever stored it, but a row that has it would break the new constraint.
    op.execute("UPDATE submissions SET status = 'queued' WHERE status = 'received'")
    with op.batch_alter_table("submissions") as batch:
        batch.drop_constraint(op.f(_NAME), type_="check")
        batch.create_check_constraint(op.f(_NAME), _check(_STATES))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch:
        batch.drop_constraint(op.f(_NAME), type_="check")
        batch.create_check_constraint(op.f(_NAME), _check(("received", *_STATES)))
