"""Initial schema: items, citations, timelines, status history, statistics, entities.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "document",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("publisher", sa.String(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "institution",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "aliases",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("item_slug", sa.String(length=120), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "militant_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("full_name", sa.String(), nullable=False),
        sa.Column(
            "aliases",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("parent_slug", sa.String(length=120), nullable=True),
        sa.Column(
            "areas",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("summary", sa.String(), nullable=True),
        sa.Column("banned_date", sa.Date(), nullable=True),
        sa.Column(
            "sources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "place",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column(
            "aliases",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("parent_slug", sa.String(length=120), nullable=True),
        sa.Column("jurisdiction", sa.String(length=40), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("slug"),
    )
    op.create_table(
        "policy_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("short_title", sa.String(), nullable=True),
        sa.Column("number", sa.String(length=20), nullable=True),
        sa.Column("summary", sa.String(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("jurisdiction", sa.String(length=40), nullable=True),
        sa.Column(
            "aliases",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "target_actors",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "sources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("start_precision", sa.String(length=5), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("end_precision", sa.String(length=5), nullable=True),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=True),
        sa.Column("status_date", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["policy_item.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("policy_item", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_policy_item_kind"), ["kind"], unique=False)
        batch_op.create_index(batch_op.f("ix_policy_item_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_policy_item_slug"), ["slug"], unique=True)
        batch_op.create_index(batch_op.f("ix_policy_item_status"), ["status"], unique=False)

    op.create_table(
        "item_institution",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("institution", sa.String(length=120), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["policy_item.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", "institution"),
    )
    with op.batch_alter_table("item_institution", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_item_institution_institution"), ["institution"], unique=False
        )

    op.create_table(
        "item_relation",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("related_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["policy_item.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["related_id"], ["policy_item.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", "related_id"),
    )
    with op.batch_alter_table("item_relation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_item_relation_related_id"), ["related_id"], unique=False
        )

    op.create_table(
        "item_theme",
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("theme", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["policy_item.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("item_id", "theme"),
    )
    with op.batch_alter_table("item_theme", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_item_theme_theme"), ["theme"], unique=False)

    op.create_table(
        "series_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=60), nullable=False),
        sa.Column("series_key", sa.String(length=400), nullable=False),
        sa.Column(
            "dimensions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("table_label", sa.String(length=20), nullable=True),
        sa.Column("statistics_id", sa.String(length=120), nullable=True),
        sa.Column("rationale", sa.String(), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["policy_item.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("item_id", "metric", "series_key"),
    )
    with op.batch_alter_table("series_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_series_link_item_id"), ["item_id"], unique=False)

    op.create_table(
        "statistics_table",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("doc_id", sa.String(length=120), nullable=False),
        sa.Column("table_label", sa.String(length=20), nullable=True),
        sa.Column("section", sa.String(length=40), nullable=True),
        sa.Column("confidence", sa.String(), nullable=True),
        sa.Column("note", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["doc_id"],
            ["document.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("statistics_table", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_statistics_table_table_label"), ["table_label"], unique=False
        )

    op.create_table(
        "status_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("progress", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column(
            "evidence",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("jurisdiction", sa.String(length=40), nullable=True),
        sa.Column("author", sa.String(length=120), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("effective_precision", sa.String(length=5), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_state", sa.String(length=10), nullable=False),
        sa.Column("reviewed_by", sa.String(length=120), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_reason", sa.String(), nullable=True),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("seed_key", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["item_id"], ["policy_item.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("status_update", schema=None) as batch_op:
        batch_op.create_index(
            "ix_status_update_item_state_effective",
            ["item_id", "review_state", "effective_date"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_status_update_seed_key"), ["seed_key"], unique=False)

    op.create_table(
        "timeline_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("date_precision", sa.String(length=5), nullable=False),
        sa.Column("type", sa.String(length=30), nullable=False),
        sa.Column("description", sa.String(), nullable=False),
        sa.Column(
            "sources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["item_id"], ["policy_item.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_timeline_event_event_date"), ["event_date"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_timeline_event_item_id"), ["item_id"], unique=False)

    op.create_table(
        "observation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("statistics_id", sa.String(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("table_label", sa.String(length=20), nullable=True),
        sa.Column("section", sa.String(length=40), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("is_total", sa.Boolean(), nullable=False),
        sa.Column("region", sa.String(length=80), nullable=True),
        sa.Column("district", sa.String(length=80), nullable=True),
        sa.Column("group_name", sa.String(length=80), nullable=True),
        sa.Column("group_type", sa.String(length=40), nullable=True),
        sa.Column("target", sa.String(length=200), nullable=True),
        sa.Column("tactic", sa.String(length=120), nullable=True),
        sa.Column("force", sa.String(length=80), nullable=True),
        sa.Column("victim", sa.String(length=80), nullable=True),
        sa.Column("incident_type", sa.String(length=120), nullable=True),
        sa.Column("party", sa.String(length=120), nullable=True),
        sa.Column("operation_type", sa.String(length=80), nullable=True),
        sa.Column("election", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=80), nullable=True),
        sa.Column(
            "metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("note", sa.String(), nullable=True),
        sa.Column(
            "sources",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["statistics_id"], ["statistics_table.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_observation_district"), ["district"], unique=False)
        batch_op.create_index(batch_op.f("ix_observation_group_name"), ["group_name"], unique=False)
        batch_op.create_index(batch_op.f("ix_observation_period_end"), ["period_end"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_observation_period_start"), ["period_start"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_observation_region"), ["region"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_observation_statistics_id"), ["statistics_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_observation_table_label"), ["table_label"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_observation_target"), ["target"], unique=False)

    op.create_table(
        "observation_metric",
        sa.Column("observation_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=60), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["observation_id"], ["observation.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("observation_id", "metric"),
    )
    with op.batch_alter_table("observation_metric", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_observation_metric_metric"), ["metric"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("observation_metric", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_observation_metric_metric"))

    op.drop_table("observation_metric")
    with op.batch_alter_table("observation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_observation_target"))
        batch_op.drop_index(batch_op.f("ix_observation_table_label"))
        batch_op.drop_index(batch_op.f("ix_observation_statistics_id"))
        batch_op.drop_index(batch_op.f("ix_observation_region"))
        batch_op.drop_index(batch_op.f("ix_observation_period_start"))
        batch_op.drop_index(batch_op.f("ix_observation_period_end"))
        batch_op.drop_index(batch_op.f("ix_observation_group_name"))
        batch_op.drop_index(batch_op.f("ix_observation_district"))

    op.drop_table("observation")
    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_timeline_event_item_id"))
        batch_op.drop_index(batch_op.f("ix_timeline_event_event_date"))

    op.drop_table("timeline_event")
    with op.batch_alter_table("status_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_status_update_seed_key"))
        batch_op.drop_index("ix_status_update_item_state_effective")

    op.drop_table("status_update")
    with op.batch_alter_table("statistics_table", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statistics_table_table_label"))

    op.drop_table("statistics_table")
    with op.batch_alter_table("series_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_series_link_item_id"))

    op.drop_table("series_link")
    with op.batch_alter_table("item_theme", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_theme_theme"))

    op.drop_table("item_theme")
    with op.batch_alter_table("item_relation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_relation_related_id"))

    op.drop_table("item_relation")
    with op.batch_alter_table("item_institution", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_item_institution_institution"))

    op.drop_table("item_institution")
    with op.batch_alter_table("policy_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_policy_item_status"))
        batch_op.drop_index(batch_op.f("ix_policy_item_slug"))
        batch_op.drop_index(batch_op.f("ix_policy_item_parent_id"))
        batch_op.drop_index(batch_op.f("ix_policy_item_kind"))

    op.drop_table("policy_item")
    op.drop_table("place")
    op.drop_table("militant_group")
    op.drop_table("institution")
    op.drop_table("document")
