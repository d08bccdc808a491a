"""GET /search: one ranked search over items, events, groups, institutions, places, statistics."""

from typing import Annotated

from fastapi import APIRouter, Query

from app.core.db import SessionDep
from app.core.errors import InvalidInput
from app.core.pagination import Cursor, decode_cursor
from app.search import service
from app.search.query import MAX_QUERY_LENGTH
from app.search.schemas import SearchPage

router = APIRouter(tags=["search"])


@router.get(
    "/search",
    response_model=SearchPage,
    summary="Ranked full-text search in the words people use",
    responses={422: {"description": "Empty, over-long or punctuation-only query."}},
)
async def search(
    session: SessionDep,
    q: Annotated[
        str, Query(max_length=MAX_QUERY_LENGTH, description="Words, as a person would type them.")
    ],
    type: Annotated[
        str | None,
        Query(
            max_length=80,
            description="Only these types, comma-separated: " + ", ".join(service.TYPES),
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
    cursor: Cursor = None,
) -> SearchPage:
    types = [t.strip() for t in (type or "").split(",") if t.strip()]
    unknown = [t for t in types if t not in service.TYPES]
    if unknown:
        raise InvalidInput(
            f"unknown type {', '.join(unknown)}; use {', '.join(service.TYPES)}", field="type"
        )
    return await service.search(
        session, q, types=types, limit=limit, offset=decode_cursor(cursor) or 0
    )
