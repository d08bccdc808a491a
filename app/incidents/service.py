"""Incident statistics: filtered observations, with names resolved through their aliases."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.pagination import encode_cursor
from app.incidents.aliases import load_alias_tables
from app.incidents.models import (
    DIMENSION_COLUMNS,
    MilitantGroup,
    Observation,
    ObservationMetric,
    Place,
    StatisticsTable,
)
from app.incidents.schemas import (
    GroupOut,
    ObservationOut,
    ObservationPage,
    Period,
    PlaceOut,
    StatisticsTableOut,
)
from app.policies.schemas import Citation, citations
from app.policies.service import document_titles


@dataclass(frozen=True)
class ObservationFilters:
    table: str | None = None
    statistics: str | None = None
    section: str | None = None
    metric: str | None = None
    period_from: date | None = None
    period_to: date | None = None
    year: int | None = None
    total: bool | None = None
    dimensions: tuple[tuple[str, str], ...] = ()


async def canonical_name(session: AsyncSession, dimension: str, value: str) -> str:
    """The stored spelling of a group, region or district ('KPK' -> 'Khyber Pakhtunkhwa')."""
    return (await load_alias_tables(session)).canonical(dimension, value)


def table_label(value: str) -> str:
    """Accept 'Table 4', 'table 4', '4' and 'Table 04' alike."""
    # isdecimal, not isdigit: '¹' is a digit that int() refuses (a 500); '٤' is a decimal it reads.
    digits = "".join(ch for ch in value if ch.isdecimal())
    return f"Table {int(digits)}" if digits else value


async def list_observations(
    session: AsyncSession, filters: ObservationFilters, *, limit: int, after: int | None = None
) -> ObservationPage:
    query = select(Observation).order_by(Observation.id).limit(limit + 1)
    if after is not None:
        query = query.where(Observation.id > after)
    if filters.table:
        query = query.where(Observation.table_label == table_label(filters.table))
    if filters.statistics:
        query = query.where(Observation.statistics_id == filters.statistics)
    if filters.section:
        query = query.where(
            (Observation.section == filters.section)
            | Observation.section.like(f"{filters.section}.%")
        )
    if filters.year:
        query = query.where(
            Observation.period_start >= date(filters.year, 1, 1),
            Observation.period_end <= date(filters.year, 12, 31),
        )
    if filters.period_from:
        query = query.where(Observation.period_start >= filters.period_from)
    if filters.period_to:
        query = query.where(Observation.period_end <= filters.period_to)
    if filters.total is not None:
        query = query.where(Observation.is_total.is_(filters.total))
    if filters.metric:
        query = query.where(
            Observation.id.in_(
                select(ObservationMetric.observation_id).where(
                    ObservationMetric.metric == filters.metric
                )
            )
        )
    for dimension, value in filters.dimensions:
        column = getattr(Observation, DIMENSION_COLUMNS[dimension])
        name = await canonical_name(session, dimension, value)
        query = query.where(func.lower(column) == name.lower())
    rows = list(await session.scalars(query))
    page, more = rows[:limit], len(rows) > limit
    titles = await document_titles(session)
    return ObservationPage(
        observations=[observation_out(o, titles) for o in page],
        next_cursor=encode_cursor(page[-1].id) if more else None,  # type: ignore[arg-type]
    )


def observation_out(obs: Observation, titles: dict[str, str]) -> ObservationOut:
    sources = citations(obs.sources, titles)
    dimensions = {
        dim: value
        for dim, column in DIMENSION_COLUMNS.items()
        if (value := getattr(obs, column)) is not None
    }
    metrics = {k: int(v) if float(v).is_integer() else v for k, v in obs.metrics.items()}
    return ObservationOut(
        id=obs.id,  # type: ignore[arg-type]
        statistics=obs.statistics_id,
        source=sources[0]
        if sources
        else Citation(doc="?", table=obs.table_label, section=obs.section),
        sources=sources,
        period=Period(start=obs.period_start, end=obs.period_end),
        dimensions=dimensions,
        metrics=metrics,
        total=obs.is_total,
        note=obs.note,
    )


async def list_tables(session: AsyncSession) -> list[StatisticsTableOut]:
    counts = dict(
        (
            await session.execute(
                select(Observation.statistics_id, func.count()).group_by(Observation.statistics_id)
            )
        ).all()
    )
    tables = await session.scalars(select(StatisticsTable).order_by(StatisticsTable.id))
    return [
        StatisticsTableOut(
            id=t.id,
            title=t.title,
            doc=t.doc_id,
            table=t.table_label,
            section=t.section,
            confidence=t.confidence,
            note=t.note,
            observations=counts.get(t.id, 0),
        )
        for t in tables
    ]


def _group_out(group: MilitantGroup, titles: dict[str, str]) -> GroupOut:
    return GroupOut(
        **group.model_dump(exclude={"id", "parent_slug", "sources"}),
        parent=group.parent_slug,
        sources=citations(group.sources, titles),
    )


async def list_groups(session: AsyncSession) -> list[GroupOut]:
    titles = await document_titles(session)
    groups = await session.scalars(select(MilitantGroup).order_by(MilitantGroup.id))
    return [_group_out(g, titles) for g in groups]


async def get_group(session: AsyncSession, slug: str) -> GroupOut:
    """One group by its slug or any of its names ('ISKP', 'Daesh')."""
    group = await session.scalar(select(MilitantGroup).where(MilitantGroup.slug == slug))
    if group is None:
        name = (await load_alias_tables(session)).group(slug)
        group = await session.scalar(select(MilitantGroup).where(MilitantGroup.name == name))
    if group is None:
        raise NotFound(f"no militant group {slug!r}")
    return _group_out(group, await document_titles(session))


def _place_out(place: Place) -> PlaceOut:
    return PlaceOut(
        **place.model_dump(exclude={"id", "parent_slug", "note"}), parent=place.parent_slug
    )


async def list_places(session: AsyncSession) -> list[PlaceOut]:
    return [_place_out(p) for p in await session.scalars(select(Place).order_by(Place.id))]


async def get_place(session: AsyncSession, slug: str) -> PlaceOut:
    """One place by its slug or any of its names ('KPK', 'DI Khan')."""
    place = await session.scalar(select(Place).where(Place.slug == slug))
    if place is None:
        name = (await load_alias_tables(session)).place(slug)
        place = await session.scalar(select(Place).where(Place.name == name))
    if place is None:
        raise NotFound(f"no place {slug!r}")
    return _place_out(place)
