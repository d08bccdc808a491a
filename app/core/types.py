"""Column types shared by the domain models."""

from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB

AwareDateTime = DateTime(timezone=True)
# JSONB on PostgreSQL (compact, comparable), plain JSON text on SQLite.
JSONValue = JSON().with_variant(JSONB(), "postgresql")
