"""Add step outputs

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "step_outputs",
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_step_outputs")),
    )
    with op.batch_alter_table("step_outputs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_step_outputs_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("step_outputs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_step_outputs_created_at"))

    op.drop_table("step_outputs")
