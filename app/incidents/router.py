"""Read endpoints for incident statistics, militant groups and places."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.core.db import SessionDep
from app.core.export import FormatParam, csv_response, wants_csv
from app.core.pagination import Cursor, Limit, decode_cursor
from app.incidents import service
from app.incidents.schemas import GroupOut, ObservationPage, PlaceOut, StatisticsTableOut

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
