"""Chat conversations and their turns.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "chat_conversation",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_conversation")),
    )
    with op.batch_alter_table("chat_conversation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_conversation_updated_at"), ["updated_at"], unique=False
        )

    op.create_table(
        "chat_turn",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("answer", sa.String(), nullable=False),
        sa.Column("found", sa.Boolean(), nullable=False),
        sa.Column("citations", _json(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=True),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("engine", sa.String(length=80), nullable=False),
        sa.Column("context", _json(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["chat_conversation.id"],
            name=op.f("fk_chat_turn_conversation_id_chat_conversation"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_turn")),
        sa.UniqueConstraint(
            "conversation_id", "position", name=op.f("uq_chat_turn_conversation_id_position")
        ),
    )
    with op.batch_alter_table("chat_turn", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_chat_turn_conversation_id"), ["conversation_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("chat_turn")
    op.drop_table("chat_conversation")
