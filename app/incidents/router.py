"""Incident statistics, trends and charts, incident records and their imports, groups, places."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from app.accounts.auth import ReviewerActor
from app.core.db import SessionDep
from app.core.errors import InvalidInput, UnsupportedMediaType
from app.core.export import FormatParam, csv_response, wants_csv
from app.core.pagination import Cursor, Limit, RowId, decode_cursor
from app.incidents import charts, comparisons, imports, records, service, trends
from app.incidents.imports import ImportFormat
from app.incidents.schemas import (
    Conflict,
    DatasetRef,
    GroupOut,
    ImportOut,
    ImportPage,
    IncidentDetail,
    IncidentPage,
    ItemTrends,
    LeftOut,
    ObservationPage,
    PlaceOut,
    StatisticsTableOut,
    TrendOut,
)
from app.incidents.trends import TrendQuery, TrendSource
from app.policies.schemas import Citation
from app.policies.service import get_item

router = APIRouter(tags=["statistics"])


@router.get("/stats", response_model=ObservationPage, summary="Incident statistics as observations")
async def list_observations(
    session: SessionDep,
    request: Request,
    format: Annotated[str | None, FormatParam] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    table: Annotated[
        str | None, Query(description="Source table as labelled, e.g. 'Table 4'.")
    ] = None,
    statistics: Annotated[
        str | None, Query(description="Statistics set id, e.g. text-3-1.")
    ] = None,
    section: Annotated[
        str | None, Query(description="Report section, e.g. 3.1 (includes 3.1.x).")
    ] = None,
    metric: Annotated[str | None, Query(description="Only observations with this metric.")] = None,
    year: Annotated[
        int | None, Query(ge=1947, le=2100, description="Period within this year.")
    ] = None,
    period_from: Annotated[
        date | None, Query(alias="from", description="Period starts on/after.")
    ] = None,
    period_to: Annotated[
        date | None, Query(alias="to", description="Period ends on/before.")
    ] = None,
    total: Annotated[
        bool | None, Query(description="Only stated totals (true) or rows (false).")
    ] = None,
    region: Annotated[
        str | None, Query(description="Region or province; aliases accepted (KPK).")
    ] = None,
    district: Annotated[
        str | None, Query(description="District; aliases accepted (DI Khan).")
    ] = None,
    group: Annotated[
        str | None, Query(description="Militant group; aliases accepted (ISKP).")
    ] = None,
    group_type: str | None = None,
    target: str | None = None,
    tactic: str | None = None,
    force: str | None = None,
    operation_type: str | None = None,
    incident_type: str | None = None,
    election: str | None = None,
) -> ObservationPage | Response:
    dims = {
        "region": region,
        "district": district,
        "group": group,
        "group_type": group_type,
        "target": target,
        "tactic": tactic,
        "force": force,
        "operation_type": operation_type,
        "incident_type": incident_type,
        "election": election,
    }
    filters = service.ObservationFilters(
        table=table,
        statistics=statistics,
        section=section,
        metric=metric,
        year=year,
        period_from=period_from,
        period_to=period_to,
        total=total,
        dimensions=tuple((k, v) for k, v in dims.items() if v),
    )
    page = await service.list_observations(
        session, filters, limit=limit, after=decode_cursor(cursor)
    )
    if wants_csv(request, format):
        rows = [o.model_dump(mode="json", exclude={"sources"}) for o in page.observations]
        return csv_response(
            rows,
            filename="nigran-stats",
            expand=("period", "dimensions", "metrics"),
            next_cursor=page.next_cursor,
        )
    return page


@router.get("/stats/tables", response_model=list[StatisticsTableOut], summary="The statistics sets")
async def list_tables(session: SessionDep) -> list[StatisticsTableOut]:
    return await service.list_tables(session)


@router.get("/groups", response_model=list[GroupOut], summary="Militant groups with their aliases")
async def list_groups(session: SessionDep) -> list[GroupOut]:
    return await service.list_groups(session)


@router.get("/places", response_model=list[PlaceOut], summary="Regions and districts with aliases")
async def list_places(session: SessionDep) -> list[PlaceOut]:
    return await service.list_places(session)


@router.get(
    "/groups/{slug}",
    response_model=GroupOut,
    summary="One militant group, by slug or any of its names",
    responses={404: {"description": "No such group."}},
)
async def get_group(slug: str, session: SessionDep) -> GroupOut:
    return await service.get_group(session, slug)


@router.get(
    "/places/{slug}",
    response_model=PlaceOut,
    summary="One place, by slug or any of its names",
    responses={404: {"description": "No such place."}},
)
async def get_place(slug: str, session: SessionDep) -> PlaceOut:
    return await service.get_place(session, slug)


# --- trends ---------------------------------------------------------------------------------

TREND_SPLIT_HELP = "A period (year, quarter, month), a split (region, district, group, target), or one of each: year,region."


async def trend_query(
    metric: Annotated[
        str,
        Query(
            min_length=1,
            max_length=60,
            description="attacks, killed, injured, operations, clashes, arrests, ... "
            "(a 422 lists what each source holds).",
        ),
    ],
    source: Annotated[
        TrendSource,
        Query(description="report: the report's aggregates; records: imported incident records."),
    ] = TrendSource.REPORT,
    group_by: Annotated[str | None, Query(max_length=40, description=TREND_SPLIT_HELP)] = None,
    region: Annotated[
        str | None, Query(max_length=120, description="Aliases accepted (KPK).")
    ] = None,
    district: Annotated[
        str | None, Query(max_length=120, description="Aliases accepted (DI Khan).")
    ] = None,
    group: Annotated[
        str | None, Query(max_length=200, description="Aliases accepted (ISKP).")
    ] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    group_type: Annotated[str | None, Query(max_length=60, description="Report only.")] = None,
    incident_type: Annotated[str | None, Query(max_length=120, description="Report only.")] = None,
    table: Annotated[
        str | None, Query(max_length=20, description="Report only: 'Table 1'.")
    ] = None,
    statistics: Annotated[
        str | None, Query(max_length=120, description="Report only: a statistics set id.")
    ] = None,
    period_from: Annotated[
        date | None, Query(alias="from", description="Periods starting on/after.")
    ] = None,
    period_to: Annotated[
        date | None, Query(alias="to", description="Periods ending on/before.")
    ] = None,
    dataset: Annotated[
        str | None, Query(max_length=60, description="Records only: acled, nigran, ...")
    ] = None,
    event_type: Annotated[str | None, Query(max_length=120, description="Records only.")] = None,
) -> TrendQuery:
    period, split = trends.parse_group_by(group_by, source)
    dims = {
        "region": region,
        "district": district,
        "group": group,
        "target": target,
        "group_type": group_type,
        "incident_type": incident_type,
    }
    return TrendQuery(
        metric=metric,
        source=source,
        period=period,
        split=split,
        dimensions=tuple((k, v) for k, v in dims.items() if v),
        table=table,
        statistics=statistics,
        period_from=period_from,
        period_to=period_to,
        dataset=dataset,
        event_type=event_type,
    )


TrendParams = Annotated[TrendQuery, Depends(trend_query)]
PROBLEMS = {422: {"description": "The data cannot answer this; `available` says what it can."}}


def _trend_csv(out: TrendOut) -> Response:
    rows = [
        {
            **{f"key.{k}": v for k, v in series.key.items()},
            "metric": out.metric,
            "source": out.source,
            "period_start": point.period.start,
            "period_end": point.period.end,
            "value": point.value,
            "change": point.change,
            "change_pct": point.change_pct,
            "reported_change_pct": point.reported_change_pct,
            "records": point.records,
            "sources": [s.model_dump(exclude_none=True) for s in point.sources],
        }
        for series in out.series
        for point in series.points
    ]
    return csv_response(rows, filename=f"nigran-trend-{out.metric}")


@router.get(
    "/trends",
    response_model=TrendOut,
    summary="A metric as a series by period, optionally split (JSON or CSV)",
    tags=["trends"],
    responses=PROBLEMS,
)
async def get_trend(
    session: SessionDep,
    request: Request,
    query: TrendParams,
    format: Annotated[str | None, FormatParam] = None,
) -> TrendOut | Response:
    out = await trends.trend(session, query)
    return _trend_csv(out) if wants_csv(request, format) else out


class TrendMetadata(BaseModel):
    metric: str
    source: str
    unit: str
    title: str
    description: str
    caption: str
    filters: dict[str, str]
    group_by: list[str]
    sources: list[Citation | DatasetRef]
    notes: list[str]
    left_out: list[LeftOut]
    conflicts: list[Conflict]
    formats: dict[str, str]


@router.get(
    "/trends/metadata",
    response_model=TrendMetadata,
    summary="What a trend rests on: sources, notes, caveats, what was left out, its other forms",
    tags=["trends"],
    responses=PROBLEMS,
)
async def get_trend_metadata(
    session: SessionDep, request: Request, query: TrendParams
) -> TrendMetadata:
    out = await trends.trend(session, query)
    params = request.url.query
    base = "/api/v1/trends"
    return TrendMetadata(
        **out.model_dump(include={"metric", "source", "unit", "filters", "group_by", "notes"}),
        sources=out.sources,
        left_out=out.left_out,
        conflicts=out.conflicts,
        title=charts.title(out),
        description=charts.describe(out),
        caption=charts.source_line(out),
        formats={
            "json": f"{base}?{params}",
            "csv": f"{base}?{params}&format=csv",
            "svg": f"{base}/chart.svg?{params}",
            "png": f"{base}/chart.png?{params}",
        },
    )


async def _markers(session: SessionDep, annotate: str | None) -> list[charts.Marker]:
    if not annotate:
        return []
    item = await get_item(session, annotate)
    dates = await comparisons.key_dates(session, item, comparisons.DEFAULT_EVENT_TYPES)
    label = item.short_title or item.title
    return [charts.Marker(k.on, f"{label}: {k.kind.replace('_', ' ')}") for k in dates]


AnnotateParam = Annotated[
    str | None,
    Query(max_length=120, description="An item's slug: draw its key dates as labelled markers."),
]


async def _chart(session, query, annotate, render, media_type) -> Response:  # type: ignore[no-untyped-def]
    """One trend drawn by `render`, off the event loop (matplotlib is CPU-bound)."""
    out = await trends.trend(session, query)
    image = await run_in_threadpool(render, out, await _markers(session, annotate))
    return Response(image, media_type=media_type)


CHART_RESPONSES = {**PROBLEMS, 200: {"content": {"image/svg+xml": {}, "image/png": {}}}}


@router.get(
    "/trends/chart.svg",
    response_class=Response,
    summary="The same trend as an SVG chart",
    tags=["trends"],
    responses=CHART_RESPONSES,
)
async def trend_svg(
    session: SessionDep, query: TrendParams, annotate: AnnotateParam = None
) -> Response:
    return await _chart(session, query, annotate, charts.render_svg, "image/svg+xml")


@router.get(
    "/trends/chart.png",
    response_class=Response,
    summary="The same trend as a PNG chart",
    tags=["trends"],
    responses=CHART_RESPONSES,
)
async def trend_png(
    session: SessionDep, query: TrendParams, annotate: AnnotateParam = None
) -> Response:
    return await _chart(session, query, annotate, charts.render_png, "image/png")


def _csv_list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


@router.get(
    "/items/{slug}/trends",
    response_model=ItemTrends,
    summary="An item's linked incident series, with before/after comparisons around its key dates",
    tags=["trends"],
    responses={404: {"description": "No such item."}, 422: PROBLEMS[422]},
)
async def get_item_trends(
    slug: str,
    session: SessionDep,
    source: Annotated[TrendSource, Query(description="report or records.")] = TrendSource.REPORT,
    events: Annotated[
        str | None,
        Query(
            max_length=300,
            description="Timeline event types to compare around, comma-separated, or 'all' "
            "(default: launched, enacted, established, promulgated, approved, announced, "
            "operation, ceasefire, lapsed, amended, extended, designation, talks). The item's "
            "start and end dates always count.",
        ),
    ] = None,
    window: Annotated[
        str | None,
        Query(max_length=40, description="Window lengths in months, comma-separated (12,24,36)."),
    ] = None,
) -> ItemTrends:
    item = await get_item(session, slug)
    chosen = _csv_list(events)
    event_types = (
        None
        if chosen == ["all"]
        else frozenset(chosen)
        if chosen
        else comparisons.DEFAULT_EVENT_TYPES
    )
    try:
        months = tuple(int(w) for w in _csv_list(window)) or comparisons.WINDOW_MONTHS
    except ValueError as exc:
        raise InvalidInput(f"window {window!r}: give whole months, e.g. 12,24") from exc
    return await comparisons.item_trends(
        session, item, source=source, event_types=event_types, windows=months
    )


# --- incident records and imports -----------------------------------------------------------

CSV_BODY = {
    "requestBody": {
        "required": True,
        "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    }
}
CSV_TYPES = ("text/csv", "application/csv", "text/plain")


@router.post(
    "/incidents/import",
    response_model=ImportOut,
    summary="Import incident records from a CSV body (reviewers): all or nothing, idempotent",
    tags=["incidents"],
    openapi_extra=CSV_BODY,
    responses={
        415: {"description": "The body is not CSV."},
        422: {"description": "The file is refused whole; `errors` lists every bad row."},
    },
)
async def import_incidents(
    request: Request,
    session: SessionDep,
    actor: ReviewerActor,
    format: Annotated[ImportFormat, Query(description="acled, nigran or acled-deletions.")],
    dataset: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=60,
            pattern=r"^[a-z0-9][a-z0-9_.-]*$",
            description="Name of the source set (default: the format's name).",
        ),
    ] = None,
    file_name: Annotated[
        str | None, Query(max_length=255, description="Recorded with the run.")
    ] = None,
) -> ImportOut:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CSV_TYPES:
        raise UnsupportedMediaType(
            f"send the file as Content-Type: text/csv (got {content_type or 'none'})"
        )
    body = await request.body()
    report = await imports.import_incidents(
        session,
        body,
        fmt=format,
        dataset=dataset,
        file_name=file_name or "upload.csv",
        actor=actor.label,
    )
    return ImportOut(**report.__dict__)


@router.get(
    "/incidents/imports",
    response_model=ImportPage,
    summary="Import runs, newest first",
    tags=["incidents"],
)
async def list_imports(session: SessionDep, limit: Limit = 50, cursor: Cursor = None) -> ImportPage:
    return await records.list_imports(session, limit=limit, after=decode_cursor(cursor))


@router.get(
    "/incidents",
    response_model=IncidentPage,
    summary="Incident records, filtered (JSON or CSV)",
    tags=["incidents"],
)
async def list_incidents(
    session: SessionDep,
    request: Request,
    format: Annotated[str | None, FormatParam] = None,
    limit: Limit = 100,
    cursor: Cursor = None,
    dataset: Annotated[str | None, Query(max_length=60)] = None,
    period_from: Annotated[date | None, Query(alias="from")] = None,
    period_to: Annotated[date | None, Query(alias="to")] = None,
    region: Annotated[
        str | None, Query(max_length=120, description="Aliases accepted (KPK).")
    ] = None,
    district: Annotated[str | None, Query(max_length=120)] = None,
    group: Annotated[
        str | None, Query(max_length=200, description="Aliases accepted (TTP).")
    ] = None,
    target: Annotated[str | None, Query(max_length=200)] = None,
    event_type: Annotated[str | None, Query(max_length=120)] = None,
) -> IncidentPage | Response:
    dims = {"region": region, "district": district, "group": group, "target": target}
    filters = records.RecordFilters(
        dataset=dataset,
        period_from=period_from,
        period_to=period_to,
        event_type=event_type,
        dimensions=tuple((k, v) for k, v in dims.items() if v),
    )
    page = await records.list_incidents(session, filters, limit=limit, after=decode_cursor(cursor))
    if wants_csv(request, format):
        rows = [i.model_dump(mode="json") for i in page.incidents]
        return csv_response(rows, filename="nigran-incidents", next_cursor=page.next_cursor)
    return page


@router.get(
    "/incidents/{record_id}",
    response_model=IncidentDetail,
    summary="One incident record with its revision history",
    tags=["incidents"],
    responses={404: {"description": "No such record."}},
)
async def get_incident(record_id: RowId, session: SessionDep) -> IncidentDetail:
    return await records.get_incident(session, record_id)
