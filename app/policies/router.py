"""Read endpoints for policy items."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from app.core.db import SessionDep
from app.core.pagination import Cursor, Limit, decode_cursor
from app.policies import service
from app.policies.models import PolicyItem
from app.policies.schemas import ItemDetail, ItemPage
from app.policies.vocabulary import ItemKind, Jurisdiction, Theme
from app.tracking.status import Status

router = APIRouter(prefix="/items", tags=["items"])


async def current_item(slug: str, session: SessionDep) -> PolicyItem:
    return await service.get_item(session, slug)


CurrentItem = Annotated[PolicyItem, Depends(current_item)]


def etag(item: PolicyItem) -> str:
    return f'"{item.slug}-v{item.version}"'


@router.get("", response_model=ItemPage, summary="List and filter policy items")
async def list_items(
    session: SessionDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    kind: ItemKind | None = None,
    status: Status | None = None,
    theme: Theme | None = None,
    institution: Annotated[
        str | None, Query(description="Responsible institution, e.g. NACTA.")
    ] = None,
    parent: Annotated[str | None, Query(description="Slug of the parent item.")] = None,
    jurisdiction: Jurisdiction | None = None,
    q: Annotated[
        str | None, Query(min_length=2, max_length=200, description="Text search.")
    ] = None,
) -> ItemPage:
    filters = service.ItemFilters(
        kind=kind,
        status=status,
        theme=theme,
        institution=institution,
        parent=parent,
        jurisdiction=jurisdiction,
        q=q,
    )
    return await service.list_items(session, filters, limit=limit, after=decode_cursor(cursor))


@router.get(
    "/{slug}", response_model=ItemDetail, summary="One item with status, history and timeline"
)
async def get_item(item: CurrentItem, session: SessionDep, response: Response) -> ItemDetail:
    response.headers["ETag"] = etag(item)
    return await service.item_detail(session, item)
