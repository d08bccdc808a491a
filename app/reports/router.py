"""Progress summaries for briefings, and what changed since a date."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.core.db import SessionDep
from app.core.export import FormatParam, csv_response, wants_csv
from app.reports import render, service
from app.reports.schemas import Changes, Summary

router = APIRouter(tags=["summaries"])


@router.get(
    "/summary",
    response_model=Summary,
    summary="Progress of the tracker (JSON, or format=md for a briefing, format=html to print)",
)
async def summary(
    session: SessionDep,
    as_of: Annotated[
        date | None, Query(description="The summary as it stood on this date.")
    ] = None,
    since: Annotated[
        date | None, Query(description="Also count changes recorded since this date.")
    ] = None,
    stale_days: Annotated[
        int, Query(ge=1, le=3650, description="No approved update for this long is stale.")
    ] = 365,
    format: Annotated[str | None, Query(pattern="^(json|md|html)$")] = None,
) -> Summary | Response:
    cached = await service.summary(session, as_of=as_of, since=since, stale_days=stale_days)
    result = cached.model
    if format == "md":
        return Response(
            render.markdown(result),
            media_type="text/markdown; charset=utf-8",
            headers={
                "Content-Disposition": f'inline; filename="nigran-briefing-{result.as_of}.md"'
            },
        )
    if format == "html":
        return HTMLResponse(render.html_page(result))
    return Response(cached.json, media_type="application/json")


@router.get("/changes", response_model=Changes, summary="What the tracker recorded since a date")
async def changes(
    session: SessionDep,
    request: Request,
    since: Annotated[date, Query(description="YYYY-MM-DD")],
    format: Annotated[str | None, FormatParam] = None,
) -> Changes | Response:
    result = await service.list_changes(session, since)
    if wants_csv(request, format):
        rows = [{"change": "status", **c.model_dump(mode="json")} for c in result.status_changes]
        rows += [{"change": "event", **e.model_dump(mode="json")} for e in result.new_events]
        rows += [{"change": "new item", **i.model_dump(mode="json")} for i in result.new_items]
        return csv_response(rows, filename=f"nigran-changes-since-{since}")
    return result
