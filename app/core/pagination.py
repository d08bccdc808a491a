"""Opaque keyset cursors shared by every list endpoint."""

import base64
import json
from typing import Annotated

from fastapi import Path, Query

from app.core.config import get_settings
from app.core.errors import BadRequest

# Row ids are INTEGER columns (32-bit on PostgreSQL). A larger number names no row, but sent to
# the database it is an overflow error (a 500 on both engines), not an empty result.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _issued(value: object) -> bool:
    """Whether `value` is something this API puts in a cursor: an id or offset, or a date."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return 0 <= value <= MAX_ID
    return isinstance(value, str) and len(value) <= 40


def encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": last_id}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest(f"cursor {cursor!r} is not one this API issued") from exc
    if not isinstance(after, int) or not _issued(after):
        raise BadRequest(f"cursor {cursor!r} is not one this API issued")
    return after


def _max_limit() -> int:
    return get_settings().max_page_size


Limit = Annotated[
    int,
    Query(
        ge=1, le=_max_limit(), description="Page size (at most the NIGRAN_MAX_PAGE_SIZE setting)."
    ),
]
Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page.")]


def encode_keyset(values: list[str | int]) -> str:
    """A cursor for lists ordered by several columns (e.g. date, then id)."""
    return base64.urlsafe_b64encode(json.dumps({"after": values}).encode()).decode().rstrip("=")


def decode_keyset(cursor: str | None, arity: int) -> list[str | int] | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        after = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRequest(f"cursor {cursor!r} is not one this API issued") from exc
    if not isinstance(after, list) or len(after) != arity or not all(map(_issued, after)):
        raise BadRequest(f"cursor {cursor!r} is not one this API issued")
    return after
