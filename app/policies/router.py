"""Read endpoints for policy items."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from app.accounts.auth import OptionalReader, ReviewerActor
from app.accounts.models import Role
from app.core.db import ReadEngineDep, SessionDep, run_read
from app.core.errors import NotFound
from app.core.export import FormatParam, csv_response, wants_csv
from app.core.idempotency import run_once
from app.core.pagination import Cursor, Limit, decode_cursor
from app.core.responses import json_bytes
from app.policies import service, writes
from app.policies.models import PolicyItem
from app.policies.schemas import ItemDetail, ItemPage
from app.policies.vocabulary import ItemKind, Jurisdiction, Theme
from app.policies.writes import etag, parse_if_match, representation_etag
from app.search import service as search
from app.tracking.status import Status

router = APIRouter(prefix="/items", tags=["items"])


async def current_item(slug: str, session: SessionDep) -> PolicyItem:
    return await service.get_item(session, slug)


CurrentItem = Annotated[PolicyItem, Depends(current_item)]


@router.get("", response_model=ItemPage, summary="List and filter policy items (JSON or CSV)")
async def list_items(
    session: SessionDep,
    request: Request,
    format: Annotated[str | None, FormatParam] = None,
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
        str | None,
        Query(min_length=2, max_length=200, description="Words to search for, best match first."),
    ] = None,
) -> ItemPage:
    filters = service.ItemFilters(
        kind=kind,
        status=status,
        theme=theme,
        institution=institution,
        parent=parent,
        jurisdiction=jurisdiction,
    )
    # With q, the order is the search's: the same ranking as GET /search?type=item.
    ranked = await search.ranked_keys(session, q, "item") if q else None
    page = await service.list_items(
        session, filters, limit=limit, after=decode_cursor(cursor), ranked=ranked
    )
    if wants_csv(request, format):
        rows = [i.model_dump(mode="json", exclude={"version"}) for i in page.items]
        return csv_response(rows, filename="nigran-items", next_cursor=page.next_cursor)
    return page


@router.get(
    "/{slug}", response_model=ItemDetail, summary="One item with status, history and timeline"
)
async def get_item(slug: str, engine: ReadEngineDep, actor: OptionalReader) -> Response:
    reviewer = actor is not None and actor.can(Role.REVIEWER)
    detail = await run_read(engine, service.read_item_detail, slug, reviewer)
    if detail is None:
        raise NotFound(f"no item with slug {slug!r}")
    body = json_bytes(detail)
    tag = representation_etag(slug, detail["version"], body)
    return Response(body, media_type="application/json", headers={"ETag": tag})


@router.post("", status_code=201, response_model=ItemDetail, summary="Create an item (reviewers)")
async def create_item(
    body: Annotated[dict[str, Any], Body(description="An item record, as in policy_data/items.")],
    actor: ReviewerActor,
    session: SessionDep,
    request: Request,
) -> JSONResponse:
    async def produce() -> tuple[int, ItemDetail]:
        item = await writes.create_item(session, body, actor.label)
        return 201, await service.item_detail(session, item, show_pending=True)

    response = await run_once(session, request, actor.label, body, produce)
    if response.status_code == 201:
        response.headers["ETag"] = f'"{body.get("slug")}-v1"'
    return response


@router.patch(
    "/{slug}", response_model=ItemDetail, summary="Edit an item (reviewers; If-Match required)"
)
async def edit_item(
    item: CurrentItem,
    body: Annotated[dict[str, Any], Body(description="Fields to change, as in policy_data/items.")],
    actor: ReviewerActor,
    session: SessionDep,
    response: Response,
    if_match: Annotated[str | None, Header()] = None,
) -> ItemDetail:
    await writes.edit_item(session, item, body, actor.label, parse_if_match(if_match))
    response.headers["ETag"] = etag(item)
    return await service.item_detail(session, item, show_pending=True)
