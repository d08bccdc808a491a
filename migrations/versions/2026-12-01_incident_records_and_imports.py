"""Incident records from outside data sets (ACLED, Nigran CSV), their revisions and import runs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine:
    return sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "incident_import",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("checksum", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=20), nullable=False),
        sa.Column("dataset", sa.String(length=60), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("not_found", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("skipped_reasons", _json(), nullable=False),
        sa.Column("unmapped", _json(), nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_import")),
    )
    with op.batch_alter_table("incident_import", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_incident_import_checksum"), ["checksum"], unique=False)

    op.create_table(
        "incident_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dataset", sa.String(length=60), nullable=False),
        sa.Column("origin_id", sa.String(length=80), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("date_precision", sa.String(length=5), nullable=False),
        sa.Column("region", sa.String(length=120), nullable=True),
        sa.Column("region_mapped", sa.Boolean(), nullable=False),
        sa.Column("district", sa.String(length=120), nullable=True),
        sa.Column("district_mapped", sa.Boolean(), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("group_name", sa.String(length=200), nullable=True),
        sa.Column("group_mapped", sa.Boolean(), nullable=False),
        sa.Column("actors", _json(), nullable=False),
        sa.Column("target", sa.String(length=120), nullable=True),
        sa.Column("event_type", sa.String(length=120), nullable=True),
        sa.Column("tactic", sa.String(length=120), nullable=True),
        sa.Column("killed", sa.Integer(), nullable=True),
        sa.Column("injured", sa.Integer(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("notes", sa.String(), nullable=True),
        sa.Column("origin_timestamp", sa.BigInteger(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["incident_import.id"],
            name=op.f("fk_incident_record_import_id_incident_import"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_record")),
        sa.UniqueConstraint(
            "dataset", "origin_id", name=op.f("uq_incident_record_dataset_origin_id")
        ),
    )
    with op.batch_alter_table("incident_record", schema=None) as batch_op:
        batch_op.create_index(
            "ix_incident_record_dataset_date", ["dataset", "event_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_incident_record_event_date"), ["event_date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_incident_record_group_name"), ["group_name"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_incident_record_region"), ["region"], unique=False)

    op.create_table(
        "incident_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("previous", _json(), nullable=False),
        sa.Column("replaced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["incident_import.id"],
            name=op.f("fk_incident_revision_import_id_incident_import"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["incident_record.id"],
            name=op.f("fk_incident_revision_record_id_incident_record"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_revision")),
    )
    with op.batch_alter_table("incident_revision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_revision_record_id"), ["record_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("incident_revision")
    op.drop_table("incident_record")
    op.drop_table("incident_import")
