"""Column types shared by the domain models."""

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import Field
from sqlalchemy import JSON, DateTime
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class _AwareDateTime(TypeDecorator[datetime]):
    """Timezone-aware on both engines: SQLite keeps no offset, so values are stored in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use app.core.time.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


AwareDateTime = _AwareDateTime()
# JSONB on PostgreSQL (compact, comparable), plain JSON text on SQLite.
JSONValue = JSON().with_variant(JSONB(), "postgresql")

# A date that can be stored: asyncpg writes date.min and date.max to PostgreSQL as -infinity and
# infinity, which the database's JSON then spells "-infinity" (not a date; reads of the record
# fail or answer a non-date). For input models of stored dates; nothing is dated there anyway.
StoredDate = Annotated[date, Field(gt=date.min, lt=date.max)]
