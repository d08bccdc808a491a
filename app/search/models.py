"""The search index: one row per searchable record, with its text in three weighted fields.

The engines index these rows themselves: SQLite through the FTS5 table `search_fts` (external
content, kept in step by triggers), PostgreSQL through the generated, GIN-indexed tsvector column
`search_entry.document`. Both are created by the migration; neither is mapped here.
"""

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


class SearchEntry(SQLModel, table=True):
    __tablename__ = "search_entry"
    __table_args__ = (UniqueConstraint("type", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(max_length=20, index=True)
    key: str = Field(max_length=160)
    # The item an entry belongs to (an item itself, or one of its events): upkeep replaces all
    # of an item's entries at once.
    item_slug: str | None = Field(default=None, max_length=120, index=True)
    title: str
    url: str
    names: str = Field(description="Weight A: titles, names, aliases, numbers.")
    tags: str = Field(description="Weight B: kind, themes, institutions, types, areas.")
    body: str = Field(description="Weight C: summaries, descriptions, approved notes.")


# What the migration builds for the engines' own indexes, invisible to the models.
ENGINE_MANAGED_TABLES = ("search_fts",)
ENGINE_MANAGED_COLUMNS = {("search_entry", "document")}
ENGINE_MANAGED_INDEXES = {"ix_search_entry_document"}
