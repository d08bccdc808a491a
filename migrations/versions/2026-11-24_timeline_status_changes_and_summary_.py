"""Status changes on the timeline; indexes for the timeline, the feed and summaries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    with op.batch_alter_table("policy_item", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("last_approved_at", sa.DateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("status_update", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_status_update_reviewed_at"), ["reviewed_at"], unique=False
        )
        batch_op.drop_index("ix_status_update_item_state_effective")
        batch_op.create_index(
            "ix_status_update_item_latest",
            ["item_id", "review_state", "effective_date", "recorded_at", "id"],
            unique=False,
        )

    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status_update_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_timeline_event_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            "ix_timeline_event_state_date", ["review_state", "event_date", "id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_timeline_event_status_update_id"), ["status_update_id"], unique=False
        )
        batch_op.create_foreign_key(
            "fk_timeline_event_status_update_id_status_update",
            "status_update",
            ["status_update_id"],
            ["id"],
        )


def downgrade() -> None:

    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.drop_constraint(
            "fk_timeline_event_status_update_id_status_update", type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_timeline_event_status_update_id"))
        batch_op.drop_index("ix_timeline_event_state_date")
        batch_op.drop_index(batch_op.f("ix_timeline_event_created_at"))
        batch_op.drop_column("status_update_id")

    with op.batch_alter_table("status_update", schema=None) as batch_op:
        batch_op.drop_index("ix_status_update_item_latest")
        batch_op.create_index(
            "ix_status_update_item_state_effective",
            ["item_id", "review_state", "effective_date"],
            unique=False,
        )
        batch_op.drop_index(batch_op.f("ix_status_update_reviewed_at"))

    with op.batch_alter_table("policy_item", schema=None) as batch_op:
        batch_op.drop_column("last_approved_at")
