"""evaluation log archive: each job's log, compressed, kept after the Redis stream is gone

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evaluation_log_chunks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("evaluation_id", sa.String(length=64), nullable=False),
        sa.Column("first_entry_id", sa.String(length=41), nullable=False),
        sa.Column("last_entry_id", sa.String(length=41), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("text_bytes", sa.BigInteger(), nullable=False),
        sa.Column("dropped_entries", sa.Integer(), nullable=False),
        sa.Column("dropped_bytes", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["evaluation_id"], ["evaluations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("evaluation_id", "first_entry_id"),
    )
    op.create_index("ix_evaluation_log_chunks_evaluation_id", "evaluation_log_chunks",
                    ["evaluation_id"])


def downgrade() -> None:
    op.drop_index("ix_evaluation_log_chunks_evaluation_id", table_name="evaluation_log_chunks")
    op.drop_table("evaluation_log_chunks")
