"""The search index: entries, SQLite FTS5 with triggers, PostgreSQL tsvector with GIN.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Column weights are the same on both engines: names (A) 1.0, tags (B) 0.4, body (C) 0.1; SQLite's
bm25() takes them as 10, 4, 1 in the search query.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_FTS = [
    """CREATE VIRTUAL TABLE search_fts USING fts5(
        names, tags, body,
        content='search_entry', content_rowid='id',
        tokenize='porter unicode61 remove_diacritics 2'
    )""",
    """CREATE TRIGGER search_entry_ai AFTER INSERT ON search_entry BEGIN
        INSERT INTO search_fts(rowid, names, tags, body)
        VALUES (new.id, new.names, new.tags, new.body);
    END""",
    """CREATE TRIGGER search_entry_ad AFTER DELETE ON search_entry BEGIN
        INSERT INTO search_fts(search_fts, rowid, names, tags, body)
        VALUES ('delete', old.id, old.names, old.tags, old.body);
    END""",
    """CREATE TRIGGER search_entry_au AFTER UPDATE ON search_entry BEGIN
        INSERT INTO search_fts(search_fts, rowid, names, tags, body)
        VALUES ('delete', old.id, old.names, old.tags, old.body);
        INSERT INTO search_fts(rowid, names, tags, body)
        VALUES (new.id, new.names, new.tags, new.body);
    END""",
]
POSTGRES_DOCUMENT = """
    ALTER TABLE search_entry ADD COLUMN document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, names), 'A')
        || setweight(to_tsvector('english'::regconfig, tags), 'B')
        || setweight(to_tsvector('english'::regconfig, body), 'C')
    ) STORED
"""


def upgrade() -> None:
    op.create_table(
        "search_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("item_slug", sa.String(length=120), nullable=True),
        sa.Column("title", sa.String(), nullable=False),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("names", sa.String(), nullable=False),
        sa.Column("tags", sa.String(), nullable=False),
        sa.Column("body", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_entry")),
        sa.UniqueConstraint("type", "key", name=op.f("uq_search_entry_type_key")),
    )
    with op.batch_alter_table("search_entry", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_search_entry_type"), ["type"], unique=False)
        batch_op.create_index(batch_op.f("ix_search_entry_item_slug"), ["item_slug"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_FTS:
            op.execute(statement)
    else:
        op.execute(POSTGRES_DOCUMENT)
        op.execute("CREATE INDEX ix_search_entry_document ON search_entry USING gin (document)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in ("search_entry_ai", "search_entry_ad", "search_entry_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS search_fts")
    op.drop_table("search_entry")
