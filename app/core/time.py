"""Timezone-aware time, the only kind stored."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
