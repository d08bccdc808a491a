"""Column types shared by the domain models."""

from datetime import UTC, datetime

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
