"""Response shapes for incident statistics, records, trends, imports and the entities they name."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from app.policies.schemas import Citation


class Period(BaseModel):
    start: date
    end: date


class ObservationOut(BaseModel):
    id: int
    statistics: str
    source: Citation
    sources: list[Citation]
    period: Period
    dimensions: dict[str, str]
    metrics: dict[str, int | float]
    total: bool
    note: str | None


class ObservationPage(BaseModel):
    observations: list[ObservationOut]
    next_cursor: str | None


class StatisticsTableOut(BaseModel):
    id: str
    title: str
    doc: str
    table: str | None
    section: str | None
    confidence: str | None
    note: str | None
    observations: int


class GroupOut(BaseModel):
    slug: str
    name: str
    full_name: str
    aliases: list[str]
    type: str
    parent: str | None
    areas: list[str]
    summary: str | None
    banned_date: date | None
    sources: list[Citation]


class PlaceOut(BaseModel):
    slug: str
    name: str
    aliases: list[str]
    type: str
    parent: str | None
    jurisdiction: str | None


class DatasetRef(BaseModel):
    """Incident records behind a number: the data set they were imported from, and how many."""

    dataset: str
    records: int
    imports: int | None = None
    last_import: datetime | None = None
    last_file: str | None = None


class TrendPoint(BaseModel):
    period: Period
    value: int | float
    change: int | float | None = Field(description="Value minus the previous point's value.")
    change_pct: float | None = Field(description="Change in % of the previous point's value.")
    reported_change_pct: float | None = Field(
        default=None, description="The change the source itself prints for this point."
    )
    records: int | None = Field(default=None, description="Records counted (source=records).")
    sources: list[Citation | DatasetRef]


class TrendSeries(BaseModel):
    key: dict[str, str]
    points: list[TrendPoint]


class LeftOut(BaseModel):
    """An observation of the metric that the requested grouping cannot use, and why."""

    statistics: str
    period: Period
    key: dict[str, str]
    value: int | float
    reason: str


class Conflict(BaseModel):
    """Two sources give different values for one point; the first is used."""

    period: Period
    key: dict[str, str]
    used: str
    used_value: int | float
    other: str
    other_value: int | float


class TrendOut(BaseModel):
    metric: str
    source: str = Field(
        description="report: the report's published aggregates; records: "
        "counted from imported incident records. Never added together."
    )
    unit: str
    group_by: list[str]
    filters: dict[str, str]
    series: list[TrendSeries]
    sources: list[Citation | DatasetRef]
    left_out: list[LeftOut]
    conflicts: list[Conflict]
    notes: list[str]


class WindowValue(BaseModel):
    start: date
    end: date
    value: int | float | None
    covered_by: list[Period]
    statement: str


class Comparison(BaseModel):
    """Equal-length windows before and after one of an item's key dates."""

    key_date: date
    key_date_precision: str
    key_date_kind: str = Field(description="start, end, or the timeline event's type.")
    key_date_description: str | None
    window_months: int
    alignment: str = Field(
        description="month: windows meet at the key date's month; "
        "calendar_year: whole years before and after the key date's year."
    )
    series_key: dict[str, str]
    before: WindowValue
    after: WindowValue
    change: int | float | None
    change_pct: float | None
    reported_change_pct: float | None = None
    covered: bool
    statement: str


class LinkedTrend(BaseModel):
    metric: str
    dimensions: dict[str, str]
    table: str | None
    statistics: str | None
    rationale: str
    trend_url: str
    trend: TrendOut | None
    unavailable: str | None = Field(default=None, description="Why the series could not be built.")
    comparisons: list[Comparison]
    coverage: list[str] = Field(description="Which windows the data covers, in plain words.")


class ItemTrends(BaseModel):
    item: str
    title: str
    source: str
    key_dates: list[dict[str, str | None]]
    links: list[LinkedTrend]


class ImportOut(BaseModel):
    id: int
    file_name: str
    checksum: str
    format: str
    dataset: str
    rows: int
    added: int
    updated: int
    unchanged: int
    deleted: int
    not_found: int
    skipped: int
    skipped_reasons: dict[str, int]
    unmapped: dict[str, list[str]]
    actor: str
    created_at: datetime | None


class ImportPage(BaseModel):
    imports: list[ImportOut]
    next_cursor: str | None


class IncidentOut(BaseModel):
    id: int
    dataset: str
    origin_id: str
    date: date
    date_precision: str
    region: str | None
    district: str | None
    location: str | None
    group: str | None
    unmapped: list[str] = Field(description="Which of region, district, group are kept as written.")
    actors: list[str]
    target: str | None
    event_type: str | None
    tactic: str | None
    killed: int | None
    injured: int | None
    latitude: float | None
    longitude: float | None
    source: str | None
    notes: str | None
    origin_timestamp: int | None
    import_id: int
    updated_at: datetime


class IncidentRevisionOut(BaseModel):
    import_id: int
    replaced_at: datetime
    previous: dict[str, Any]


class IncidentDetail(IncidentOut):
    revisions: list[IncidentRevisionOut]


class IncidentPage(BaseModel):
    incidents: list[IncidentOut]
    next_cursor: str | None
