"""Accounts, API keys, the audit chain, reviews of events, public corrections, idempotency.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("role", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("target_type", sa.String(length=40), nullable=False),
        sa.Column("target", sa.String(length=160), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
    )
    op.create_table(
        "idempotency_record",
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=400), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column(
            "response",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("actor", "key"),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["account.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("prefix"),
    )
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_key_account_id"), ["account_id"], unique=False)

    op.create_table(
        "correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.String(), nullable=False),
        sa.Column("proposed_status", sa.String(length=30), nullable=True),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("base_version", sa.Integer(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_state", sa.String(length=10), nullable=False),
        sa.Column("reviewed_by", sa.String(length=160), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_reason", sa.String(), nullable=True),
        sa.Column("status_update_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["policy_item.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["status_update_id"],
            ["status_update.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("correction", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_correction_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_correction_review_state"), ["review_state"], unique=False
        )

    with op.batch_alter_table("status_update", schema=None) as batch_op:
        batch_op.add_column(sa.Column("base_version", sa.Integer(), nullable=True))
        batch_op.alter_column(
            "author",
            existing_type=sa.VARCHAR(length=120),
            type_=sa.String(length=160),
            existing_nullable=False,
        )
        batch_op.alter_column(
            "reviewed_by",
            existing_type=sa.VARCHAR(length=120),
            type_=sa.String(length=160),
            existing_nullable=True,
        )

    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("author", sa.String(length=160), nullable=False, server_default="Nigran seed")
        )
        batch_op.add_column(
            sa.Column(
                "review_state", sa.String(length=10), nullable=False, server_default="approved"
            )
        )
        batch_op.add_column(sa.Column("reviewed_by", sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("review_reason", sa.String(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_timeline_event_review_state"), ["review_state"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timeline_event_review_state"))
        batch_op.drop_column("review_reason")
        batch_op.drop_column("reviewed_at")
        batch_op.drop_column("reviewed_by")
        batch_op.drop_column("review_state")
        batch_op.drop_column("author")

    with op.batch_alter_table("status_update", schema=None) as batch_op:
        batch_op.alter_column(
            "reviewed_by",
            existing_type=sa.String(length=160),
            type_=sa.VARCHAR(length=120),
            existing_nullable=True,
        )
        batch_op.alter_column(
            "author",
            existing_type=sa.String(length=160),
            type_=sa.VARCHAR(length=120),
            existing_nullable=False,
        )
        batch_op.drop_column("base_version")

    with op.batch_alter_table("correction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_correction_review_state"))
        batch_op.drop_index(batch_op.f("ix_correction_item_id"))

    op.drop_table("correction")
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_key_account_id"))

    op.drop_table("api_key")
    op.drop_table("idempotency_record")
    op.drop_table("audit_entry")
    op.drop_table("account")
