"""The timeline for journalists: one chronological stream, per item, and as an Atom feed."""

from dataclasses import replace
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from app.core.db import SessionDep
from app.core.export import FormatParam, csv_response, wants_csv
from app.core.pagination import Cursor, Limit
from app.policies.schemas import TimelineEntry
from app.policies.vocabulary import EventType, ItemKind, Theme
from app.timeline import service
from app.timeline.feed import atom_feed

router = APIRouter(tags=["timeline"])


class TimelinePageOut(BaseModel):
    events: list[TimelineEntry]
    next_cursor: str | None


def timeline_filters(
    item: Annotated[str | None, Query(description="Item slug; its children are included.")] = None,
    kind: ItemKind | None = None,
    theme: Theme | None = None,
    institution: Annotated[
        str | None, Query(description="Responsible institution, e.g. NACTA.")
    ] = None,
    type: EventType | None = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    order: Annotated[str, Query(pattern="^(asc|desc)$", description="asc: oldest first.")] = "asc",
) -> service.TimelineFilters:
    return service.TimelineFilters(
        item=item,
        kind=kind,
        theme=theme,
        institution=institution,
        type=type,
        date_from=date_from,
        date_to=date_to,
        newest_first=order == "desc",
    )


Filters = Annotated[service.TimelineFilters, Depends(timeline_filters)]


def _respond(
    page: service.TimelinePage, request: Request, format: str | None
) -> TimelinePageOut | Response:
    if wants_csv(request, format):
        rows = [e.model_dump(mode="json") for e in page.events]
        return csv_response(rows, filename="nigran-timeline", next_cursor=page.next_cursor)
    return TimelinePageOut(events=page.events, next_cursor=page.next_cursor)


@router.get("/timeline", response_model=TimelinePageOut, summary="Dated events across all items")
async def timeline(
    session: SessionDep,
    request: Request,
    filters: Filters,
    limit: Limit = 100,
    cursor: Cursor = None,
    format: Annotated[str | None, FormatParam] = None,
) -> TimelinePageOut | Response:
    page = await service.list_events(session, filters, limit=limit, cursor=cursor)
    return _respond(page, request, format)


@router.get(
    "/items/{slug}/timeline",
    response_model=TimelinePageOut,
    summary="One item's events, children included",
)
async def item_timeline(
    slug: str,
    session: SessionDep,
    request: Request,
    type: EventType | None = None,
    date_from: Annotated[date | None, Query(alias="from")] = None,
    date_to: Annotated[date | None, Query(alias="to")] = None,
    order: Annotated[str, Query(pattern="^(asc|desc)$")] = "asc",
    limit: Limit = 100,
    cursor: Cursor = None,
    format: Annotated[str | None, FormatParam] = None,
) -> TimelinePageOut | Response:
    filters = timeline_filters(
        item=slug, type=type, date_from=date_from, date_to=date_to, order=order
    )
    page = await service.list_events(session, filters, limit=limit, cursor=cursor)
    return _respond(page, request, format)


@router.get(
    "/feeds/changes.atom",
    response_class=Response,
    responses={200: {"content": {"application/atom+xml": {}}}},
    summary="Atom feed of status changes and events, newest first (filters as /timeline)",
)
async def changes_feed(
    session: SessionDep,
    request: Request,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Response:
    page = await service.list_events(session, replace(filters, newest_first=True), limit=limit)
    body = atom_feed(
        page.events,
        base_url=str(request.base_url),
        feed_url=str(request.url),
        subtitle="Approved status changes and dated events of the items Nigran tracks.",
    )
    return Response(body, media_type="application/atom+xml; charset=utf-8")
