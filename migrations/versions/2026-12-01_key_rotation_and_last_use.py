"""API keys: when each was last used, and which key a rotated key replaced.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Both columns are nullable and start empty: existing keys have no recorded use and were not
rotated. `rotated_from_prefix` is a unique index rather than a unique constraint so that SQLite
adds it in place (ALTER TABLE ADD COLUMN, CREATE UNIQUE INDEX) instead of copying the table;
being unique, it also stops one key from being rotated twice.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.add_column(sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("rotated_from_prefix", sa.String(length=16), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_api_key_rotated_from_prefix"), ["rotated_from_prefix"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_rotated_from_prefix"))
        batch_op.drop_column("rotated_from_prefix")
        batch_op.drop_column("last_used_at")
