"""tenants keep their previous callback signing secret for a grace period after rotation

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(sa.Column("previous_callback_secret", sa.String(128), nullable=True))
        batch.add_column(sa.Column("previous_secret_expires_at", _TS, nullable=True))
        batch.add_column(sa.Column("callback_secret_rotated_at", _TS, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("callback_secret_rotated_at")
        batch.drop_column("previous_secret_expires_at")
        batch.drop_column("previous_callback_secret")
