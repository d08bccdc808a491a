"""Trends: one metric as a series of periods, from the report's aggregates or from records.

The two sources are never mixed. `report` series are built from the published observations, one
observation per point: an observation is used only where its own period is the period asked for
(a two-year window is never cut into years) and only where its dimensions are exactly the ones
asked for (TTP attacks in KP are not part of "attacks in KP"). `records` series are counted from
imported incident records, per data set.
"""

import calendar
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, extract, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import InvalidInput
from app.incidents.aliases import load_alias_tables
from app.incidents.models import (
    DIMENSION_COLUMNS,
    IncidentImport,
    IncidentRecord,
    Observation,
    ObservationMetric,
    StatisticsTable,
)
from app.incidents.schemas import (
    Conflict,
    DatasetRef,
    LeftOut,
    Period,
    TrendOut,
    TrendPoint,
    TrendSeries,
)
from app.incidents.service import table_label
from app.policies.schemas import Citation, citations
from app.policies.service import document_titles


class TrendSource(StrEnum):
    REPORT = "report"
    RECORDS = "records"


PERIODS = ("year", "quarter", "month")
RECORD_SPLITS = {
    "region": IncidentRecord.region,
    "district": IncidentRecord.district,
    "group": IncidentRecord.group_name,
    "target": IncidentRecord.target,
}
# ACLED event types that are not attacks: counted under `events`, left out of `attacks`.
NOT_ATTACKS = ("Protests", "Riots", "Strategic developments")
RECORD_METRICS = {
    "attacks": "incidents, one per record (ACLED's protests, riots and strategic developments "
    "are not counted)",
    "events": "records of any event type",
    "killed": "people killed (ACLED: fatalities)",
    "injured": "people injured",
}
UNITS = {"attacks": "attacks", "killed": "people killed", "injured": "people injured"}
REPORT_DOC = "pips-2024"


@dataclass(frozen=True)
class TrendQuery:
    metric: str
    source: TrendSource = TrendSource.REPORT
    period: str | None = None
    split: str | None = None
    dimensions: tuple[tuple[str, str], ...] = ()
    table: str | None = None
    statistics: str | None = None
    period_from: date | None = None
    period_to: date | None = None
    dataset: str | None = None
    event_type: str | None = None

    @property
    def group_by(self) -> list[str]:
        return [g for g in (self.period, self.split) if g]

    def filters(self) -> dict[str, str]:
        shown: dict[str, Any] = {
            **dict(self.dimensions),
            "table": self.table,
            "statistics": self.statistics,
            "from": self.period_from,
            "to": self.period_to,
            "dataset": self.dataset,
            "event_type": self.event_type,
        }
        return {k: str(v) for k, v in shown.items() if v is not None}


def parse_group_by(value: str | None, source: TrendSource) -> tuple[str | None, str | None]:
    """`year`, `region`, or both as `year,region`: at most one period and one split."""
    splits = tuple(RECORD_SPLITS) if source == TrendSource.RECORDS else tuple(DIMENSION_COLUMNS)
    period = split = None
    for part in (p.strip() for p in (value or "").split(",") if p.strip()):
        if part in PERIODS and period is None:
            period = part
        elif part in splits and split is None:
            split = part
        else:
            raise InvalidInput(
                f"group_by {value!r}: give at most one period ({', '.join(PERIODS)}) and one "
                f"split ({', '.join(splits)})",
                available={"periods": list(PERIODS), "splits": list(splits)},
            )
    return period, split


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _with_changes(points: list[TrendPoint]) -> list[TrendPoint]:
    """Each point's change from the previous one, when the two periods do not overlap."""
    points.sort(key=lambda p: (p.period.start, p.period.end))
    previous: TrendPoint | None = None
    for point in points:
        if previous is not None and previous.period.end < point.period.start:
            point.change = _number(point.value - previous.value)
            point.change_pct = (
                round(point.change / previous.value * 100, 1) if previous.value else None
            )
        previous = point
    return points


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def period_fits(start: date, end: date, period: str) -> bool:
    """Whether [start, end] is exactly one calendar year, quarter or month."""
    if start.day != 1:
        return False
    if period == "year":
        return start.month == 1 and end == date(start.year, 12, 31)
    if period == "quarter":
        return start.month in (1, 4, 7, 10) and end == _last_day(start.year, start.month + 2)
    return end == _last_day(start.year, start.month)


async def trend(session: AsyncSession, query: TrendQuery) -> TrendOut:
    if query.source == TrendSource.RECORDS:
        return await _records_trend(session, query)
    return await _report_trend(session, query)


# --- report ---------------------------------------------------------------------------------


async def report_metrics(session: AsyncSession) -> list[str]:
    return list(
        await session.scalars(
            select(ObservationMetric.metric).distinct().order_by(ObservationMetric.metric)
        )
    )


def _signature(obs: Observation) -> frozenset[str]:
    return frozenset(d for d, c in DIMENSION_COLUMNS.items() if getattr(obs, c) is not None)


def _key(obs: Observation, dims: frozenset[str]) -> dict[str, str]:
    return {d: getattr(obs, DIMENSION_COLUMNS[d]) for d in sorted(dims)}


def _period(obs: Observation) -> Period:
    return Period(start=obs.period_start, end=obs.period_end)


async def _observations(
    session: AsyncSession, query: TrendQuery, metric: str, dims: dict[str, str]
) -> list[tuple[Observation, float]]:
    statement = (
        select(Observation, ObservationMetric.value)
        .join(ObservationMetric, ObservationMetric.observation_id == Observation.id)
        .where(ObservationMetric.metric == metric)
        .order_by(Observation.period_start, Observation.id)
    )
    if query.table:
        statement = statement.where(Observation.table_label == table_label(query.table))
    if query.statistics:
        statement = statement.where(Observation.statistics_id == query.statistics)
    if query.period_from:
        statement = statement.where(Observation.period_start >= query.period_from)
    if query.period_to:
        statement = statement.where(Observation.period_end <= query.period_to)
    for dimension, value in dims.items():
        column = getattr(Observation, DIMENSION_COLUMNS[dimension])
        statement = statement.where(func.lower(column) == value.lower())
    return [(obs, value) for obs, value in (await session.execute(statement)).all()]


async def _report_unanswerable(
    session: AsyncSession, query: TrendQuery, dims: dict[str, str], reason: str
) -> InvalidInput:
    """A 422 that says what the report does hold for this metric."""
    rows = await _observations(session, TrendQuery(metric=query.metric), query.metric, {})
    periods = {"published"} | {
        p for obs, _ in rows for p in PERIODS if period_fits(obs.period_start, obs.period_end, p)
    }
    splits = sorted({d for obs, _ in rows for d in _signature(obs)})
    tables = sorted({obs.table_label or obs.statistics_id for obs, _ in rows})
    values: dict[str, list[str]] = {}
    for dimension in dims:
        column = DIMENSION_COLUMNS[dimension]
        values[dimension] = sorted({v for obs, _ in rows if (v := getattr(obs, column))})
    return InvalidInput(
        reason,
        available={
            "metric": query.metric,
            "source": "report",
            "periods": [p for p in ("published", *PERIODS) if p in periods],
            "splits": splits,
            "tables": tables,
            "values": values,
        },
    )


def _rank(obs: Observation, docs: dict[str, str]) -> tuple[int, str]:
    """Which source wins a disagreement: the report's tables, then its text, then the rest."""
    if obs.table_label:
        return 0, obs.statistics_id
    return (1 if docs.get(obs.statistics_id) == REPORT_DOC else 2), obs.statistics_id


@dataclass
class _Slot:
    """The observations that give one series one point."""

    obs: Observation
    value: float
    agreeing: list[Observation] = field(default_factory=list)


async def _report_trend(session: AsyncSession, query: TrendQuery) -> TrendOut:
    known = await report_metrics(session)
    if query.metric not in known:
        raise InvalidInput(
            f"the report has no metric {query.metric!r}",
            available={"metrics": known, "source": "report"},
        )
    aliases = await load_alias_tables(session)
    dims = {d: aliases.canonical(d, v) for d, v in query.dimensions}
    rows = await _observations(session, query, query.metric, dims)
    if not rows:
        described = ", ".join(f"{k}={v}" for k, v in query.filters().items()) or "no filters"
        raise await _report_unanswerable(
            session, query, dims, f"no report observation of {query.metric} matches {described}"
        )
    wanted = frozenset(dims) | ({query.split} if query.split else frozenset())
    docs = dict((await session.execute(select(StatisticsTable.id, StatisticsTable.doc_id))).all())
    slots: dict[tuple[tuple[tuple[str, str], ...], date, date], _Slot] = {}
    left_out: list[LeftOut] = []
    conflicts: list[Conflict] = []
    narrower: set[str] = set()
    for obs, value in sorted(rows, key=lambda r: _rank(r[0], docs)):
        signature = _signature(obs)
        if signature != wanted:
            if signature > wanted:
                narrower |= signature - wanted
            continue
        key = _key(obs, wanted)
        if query.period and not period_fits(obs.period_start, obs.period_end, query.period):
            left_out.append(
                LeftOut(
                    statistics=obs.statistics_id,
                    period=_period(obs),
                    key=key,
                    value=_number(value),
                    reason=f"covers {obs.period_start} to {obs.period_end}, not one calendar "
                    f"{query.period}; it is not divided up",
                )
            )
            continue
        slot_key = (tuple(key.items()), obs.period_start, obs.period_end)
        slot = slots.get(slot_key)
        if slot is None:
            slots[slot_key] = _Slot(obs, value)
        elif slot.value == value:
            slot.agreeing.append(obs)
        else:
            conflicts.append(
                Conflict(
                    period=_period(obs),
                    key=key,
                    used=slot.obs.statistics_id,
                    used_value=_number(slot.value),
                    other=obs.statistics_id,
                    other_value=_number(value),
                )
            )
    if not slots:
        reason = f"no report observation of {query.metric} has exactly the dimensions asked for"
        if left_out:
            reason = (
                f"the report's {query.metric} figures matching these filters cover other periods "
                f"than one calendar {query.period}; ask with group_by without a period to see "
                "them as published"
            )
        raise await _report_unanswerable(session, query, dims, reason)
    printed = await _printed_changes(session, query, dims, wanted)
    titles = await document_titles(session)
    series: dict[tuple[tuple[str, str], ...], list[TrendPoint]] = defaultdict(list)
    used: dict[str, Citation] = {}
    for (key, start, end), slot in slots.items():
        sources = [c for o in (slot.obs, *slot.agreeing) for c in citations(o.sources, titles)]
        for citation in sources:
            used.setdefault(citation.model_dump_json(), citation)
        series[key].append(
            TrendPoint(
                period=Period(start=start, end=end),
                value=_number(slot.value),
                change=None,
                change_pct=None,
                reported_change_pct=printed.get((key, start, end, slot.obs.statistics_id)),
                sources=sources,
            )
        )
    notes = [
        "Figures are the report's published aggregates (source=report); imported incident "
        "records are counted separately (source=records) and never added to them."
    ]
    if narrower:
        notes.append(
            "Observations split further (by "
            + ", ".join(sorted(narrower))
            + ") are not part of these series; add that split or filter to see them."
        )
    if left_out:
        notes.append(
            f"{len(left_out)} observation(s) cover periods that are not one calendar "
            f"{query.period} and are listed under left_out, not divided up."
        )
    if conflicts:
        notes.append(
            f"{len(conflicts)} point(s) are given differently by two sources; the report's tables "
            "are used first, then its text, then other documents (see conflicts)."
        )
    return TrendOut(
        metric=query.metric,
        source=TrendSource.REPORT,
        unit=UNITS.get(query.metric, query.metric.replace("_", " ")),
        group_by=query.group_by or ["published"],
        filters={**query.filters(), **dims},
        series=[
            TrendSeries(key=dict(key), points=_with_changes(points))
            for key, points in sorted(series.items())
        ],
        sources=list(used.values()),
        left_out=left_out,
        conflicts=conflicts,
        notes=notes,
    )


async def _printed_changes(
    session: AsyncSession, query: TrendQuery, dims: dict[str, str], wanted: frozenset[str]
) -> dict[tuple[Any, date, date, str], float]:
    """The change the source prints beside a point (Table 1's +84%), keyed like the points."""
    if query.metric.endswith("_change_pct"):
        return {}
    rows = await _observations(session, query, f"{query.metric}_change_pct", dims)
    return {
        (tuple(_key(o, wanted).items()), o.period_start, o.period_end, o.statistics_id): v
        for o, v in rows
        if _signature(o) == wanted
    }


# --- records --------------------------------------------------------------------------------


def _bucket(year: int, month: int, period: str) -> tuple[date, date]:
    if period == "year":
        return date(year, 1, 1), date(year, 12, 31)
    if period == "quarter":
        first = (month - 1) // 3 * 3 + 1
        return date(year, first, 1), _last_day(year, first + 2)
    return date(year, month, 1), _last_day(year, month)


def _next_bucket(start: date, period: str) -> date:
    months = {"year": 12, "quarter": 3, "month": 1}[period]
    index = start.year * 12 + start.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


async def _record_datasets(session: AsyncSession) -> dict[str, DatasetRef]:
    counts = dict(
        (
            await session.execute(
                select(IncidentRecord.dataset, func.count()).group_by(IncidentRecord.dataset)
            )
        ).all()
    )
    refs: dict[str, DatasetRef] = {}
    runs = await session.scalars(select(IncidentImport).order_by(IncidentImport.id))
    for run in runs:
        if run.dataset not in counts:
            continue
        ref = refs.get(run.dataset)
        if ref is None:
            ref = refs[run.dataset] = DatasetRef(
                dataset=run.dataset, records=counts[run.dataset], imports=0
            )
        ref.imports = (ref.imports or 0) + 1
        ref.last_import, ref.last_file = run.created_at, run.file_name
    return refs


async def _records_trend(session: AsyncSession, query: TrendQuery) -> TrendOut:
    if query.metric not in RECORD_METRICS:
        raise InvalidInput(
            f"incident records have no metric {query.metric!r}",
            available={"metrics": list(RECORD_METRICS), "source": "records"},
        )
    if query.table or query.statistics:
        raise InvalidInput(
            "table and statistics select the report's aggregates; they do not apply to "
            "source=records"
        )
    period = query.period or "year"
    aliases = await load_alias_tables(session)
    dims = {d: aliases.canonical(d, v) for d, v in query.dimensions}
    unknown = [d for d in dims if d not in RECORD_SPLITS]
    if unknown:
        raise InvalidInput(
            f"incident records cannot be filtered by {', '.join(unknown)}",
            available={"filters": [*RECORD_SPLITS, "dataset", "event_type", "from", "to"]},
        )
    datasets = await _record_datasets(session)
    if not datasets:
        raise InvalidInput(
            "no incident records have been imported (POST /api/v1/incidents/import)",
            available={"datasets": []},
        )
    year = extract("year", IncidentRecord.event_date)
    month = extract("month", IncidentRecord.event_date)
    split_column = RECORD_SPLITS[query.split] if query.split else None
    value_column = {"killed": IncidentRecord.killed, "injured": IncidentRecord.injured}.get(
        query.metric
    )
    columns: list[Any] = [IncidentRecord.dataset, year, month]
    if split_column is not None:
        columns.append(split_column)
    aggregates: list[Any] = [func.count()]
    if value_column is not None:
        aggregates += [func.sum(value_column), func.count(value_column)]
    statement = select(*columns, *aggregates).group_by(*columns)
    conditions: list[Any] = []
    if query.metric == "attacks":
        conditions.append(
            or_(IncidentRecord.event_type.is_(None), IncidentRecord.event_type.not_in(NOT_ATTACKS))
        )
    for dimension, value in dims.items():
        conditions.append(func.lower(RECORD_SPLITS[dimension]) == value.lower())
    if query.dataset:
        conditions.append(IncidentRecord.dataset == query.dataset)
    if query.event_type:
        conditions.append(func.lower(IncidentRecord.event_type) == query.event_type.lower())
    if query.period_from:
        conditions.append(IncidentRecord.event_date >= query.period_from)
    if query.period_to:
        conditions.append(IncidentRecord.event_date <= query.period_to)
    if conditions:
        statement = statement.where(and_(*conditions))
    rows = (await session.execute(statement)).all()
    counted = sum(r[-1] for r in rows)  # records, or records that give the metric's figure
    if not rows or counted == 0:
        what = "records" if not rows else f"records with a {query.metric} figure"
        raise InvalidInput(
            f"no {what} match "
            + (", ".join(f"{k}={v}" for k, v in query.filters().items()) or "the request"),
            available={
                "metric": query.metric,
                "source": "records",
                "datasets": {name: ref.records for name, ref in datasets.items()},
                "periods": list(PERIODS),
                "splits": list(RECORD_SPLITS),
            },
        )
    values: dict[tuple[Any, ...], dict[tuple[date, date], list[int]]] = defaultdict(
        lambda: defaultdict(lambda: [0, 0, 0])
    )
    for row in rows:
        dataset, y, m = row[0], int(row[1]), int(row[2])
        split_value = row[3] if split_column is not None else None
        key = (
            ("dataset", dataset),
            *(((query.split, split_value or "not recorded"),) if query.split else ()),
        )
        cell = values[key][_bucket(y, m, period)]
        cell[0] += row[len(columns)]
        if value_column is not None:
            cell[1] += row[len(columns) + 1] or 0
            cell[2] += row[len(columns) + 2]
    first = min(b for cells in values.values() for b in cells)[0]
    last = max(b for cells in values.values() for b in cells)[0]
    missing_values = 0
    series: list[TrendSeries] = []
    for key, cells in sorted(values.items(), key=lambda kv: [str(v) for v in kv[0]]):
        dataset = key[0][1]
        points: list[TrendPoint] = []
        start = first
        while start <= last:
            bucket = _bucket(start.year, start.month, period)
            records, total, with_value = cells.get(bucket, [0, 0, 0])
            missing_values += records - with_value if value_column is not None else 0
            points.append(
                TrendPoint(
                    period=Period(start=bucket[0], end=bucket[1]),
                    value=total if value_column is not None else records,
                    change=None,
                    change_pct=None,
                    records=records,
                    sources=[DatasetRef(dataset=dataset, records=records)],
                )
            )
            start = _next_bucket(start, period)
        series.append(TrendSeries(key=dict(key), points=_with_changes(points)))
    notes = [
        f"Counted from imported incident records (source=records): {RECORD_METRICS[query.metric]}. "
        "The report's aggregates (source=report) are never added to them.",
        f"Periods with no matching record between {first} and {last} count as 0.",
    ]
    if missing_values:
        notes.append(
            f"{missing_values} matching record(s) give no {query.metric} figure and add nothing."
        )
    if len({k[0] for k in values}) > 1:
        notes.append("Each data set is its own series: one incident may be in several.")
    return TrendOut(
        metric=query.metric,
        source=TrendSource.RECORDS,
        unit=UNITS.get(query.metric, query.metric),
        group_by=[period, *([query.split] if query.split else [])],
        filters={**query.filters(), **dims},
        series=series,
        sources=[datasets[name] for name in sorted({k[0][1] for k in values})],
        left_out=[],
        conflicts=[],
        notes=notes,
    )
