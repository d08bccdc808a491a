"""Reading incident records and the import runs that brought them in."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.pagination import encode_cursor
from app.incidents.aliases import load_alias_tables
from app.incidents.models import IncidentImport, IncidentRecord, IncidentRevision
from app.incidents.schemas import (
    ImportOut,
    ImportPage,
    IncidentDetail,
    IncidentOut,
    IncidentPage,
    IncidentRevisionOut,
)
from app.incidents.trends import RECORD_SPLITS


@dataclass(frozen=True)
class RecordFilters:
    dataset: str | None = None
    period_from: date | None = None
    period_to: date | None = None
    event_type: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()


def incident_out(record: IncidentRecord) -> IncidentOut:
    unmapped = [
        name
        for name, mapped, value in (
            ("region", record.region_mapped, record.region),
            ("district", record.district_mapped, record.district),
            ("group", record.group_mapped, record.group_name),
        )
        if value is not None and not mapped
    ]
    return IncidentOut(
        **record.model_dump(
            exclude={"event_date", "group_name", "content_hash", "region_mapped"}
            | {"district_mapped", "group_mapped"}
        ),
        date=record.event_date,
        group=record.group_name,
        unmapped=unmapped,
    )


async def list_incidents(
    session: AsyncSession, filters: RecordFilters, *, limit: int, after: int | None = None
) -> IncidentPage:
    query = select(IncidentRecord).order_by(IncidentRecord.id).limit(limit + 1)
    if after is not None:
        query = query.where(IncidentRecord.id > after)
    if filters.dataset:
        query = query.where(IncidentRecord.dataset == filters.dataset)
    if filters.period_from:
        query = query.where(IncidentRecord.event_date >= filters.period_from)
    if filters.period_to:
        query = query.where(IncidentRecord.event_date <= filters.period_to)
    if filters.event_type:
        query = query.where(func.lower(IncidentRecord.event_type) == filters.event_type.lower())
    aliases = await load_alias_tables(session) if filters.dimensions else None
    for dimension, value in filters.dimensions:
        name = aliases.canonical(dimension, value) if aliases else value
        query = query.where(func.lower(RECORD_SPLITS[dimension]) == name.lower())
    rows = list(await session.scalars(query))
    page, more = rows[:limit], len(rows) > limit
    return IncidentPage(
        incidents=[incident_out(r) for r in page],
        next_cursor=encode_cursor(page[-1].id) if more else None,  # type: ignore[arg-type]
    )


async def get_incident(session: AsyncSession, record_id: int) -> IncidentDetail:
    record = await session.get(IncidentRecord, record_id)
    if record is None:
        raise NotFound(f"no incident record {record_id}")
    revisions = await session.scalars(
        select(IncidentRevision)
        .where(IncidentRevision.record_id == record_id)
        .order_by(IncidentRevision.id)
    )
    return IncidentDetail(
        **incident_out(record).model_dump(),
        revisions=[
            IncidentRevisionOut(
                import_id=r.import_id, replaced_at=r.replaced_at, previous=r.previous
            )
            for r in revisions
        ],
    )


def import_out(run: IncidentImport) -> ImportOut:
    return ImportOut(**run.model_dump())


async def list_imports(
    session: AsyncSession, *, limit: int, after: int | None = None
) -> ImportPage:
    """Newest first."""
    query = select(IncidentImport).order_by(IncidentImport.id.desc()).limit(limit + 1)
    if after is not None:
        query = query.where(IncidentImport.id < after)
    rows = list(await session.scalars(query))
    page, more = rows[:limit], len(rows) > limit
    return ImportPage(
        imports=[import_out(r) for r in page],
        next_cursor=encode_cursor(page[-1].id) if more else None,  # type: ignore[arg-type]
    )
