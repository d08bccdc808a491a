"""Opaque keyset cursors shared by every list endpoint."""

import base64
import json
from typing import Annotated

from fastapi import Query

from app.core.config import get_settings
from app.core.errors import BadRequest


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
    if not isinstance(after, int):
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
    if not isinstance(after, list) or len(after) != arity:
        raise BadRequest(f"cursor {cursor!r} is not one this API issued")
    return after
