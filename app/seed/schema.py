"""Schema of the human-edited files in policy_data/, validated before anything is loaded.

Every record says where it came from (`sources`), dates may be partial ("2015", "2015-06",
"2015-06-12") and every vocabulary is closed, so a typo fails loudly instead of creating a
new category.
"""

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.core.types import StoredDate
from app.policies.vocabulary import EventType, ItemKind, Jurisdiction, TargetActor, Theme
from app.tracking.status import Status

SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
SNAKE = r"^[a-z][a-z0-9_]*$"
Slug = Annotated[str, Field(pattern=SLUG, max_length=120)]

DIMENSIONS = {
    "region": "Province or region as the report groups them (Karachi apart from Sindh).",
    "district": "District or city.",
    "group": "Militant group, by its canonical name in groups.yaml.",
    "group_type": "religiously_inspired, nationalist_insurgent, sectarian, unknown.",
    "target": "Target category as the source table words it.",
    "tactic": "Attack tactic (suicide attack, IED, direct fire, ...).",
    "force": "Security force whose personnel were hit.",
    "victim": "civilians, security_personnel, militants.",
    "incident_type": "Kind of incident (terrorist attack, political violence, clash, ...).",
    "party": "Political party hit or involved.",
    "operation_type": "Kind of kinetic action (operation, clash, arrest, foiled plot).",
    "election": "Election the figures relate to (2013, 2018, 2024).",
    "country": "Country, where the source compares countries.",
}


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PartialDate(Config):
    """A date known to the day, the month or only the year."""

    date: StoredDate
    precision: Literal["day", "month", "year"]

    @classmethod
    def parse(cls, value: object) -> "PartialDate":
        if isinstance(value, date):
            return cls(date=value, precision="day")
        text = str(value).strip()
        if re.fullmatch(r"\d{4}", text):
            return cls(date=date(int(text), 1, 1), precision="year")
        if m := re.fullmatch(r"(\d{4})-(\d{2})", text):
            return cls(date=date(int(m[1]), int(m[2]), 1), precision="month")
        return cls(date=date.fromisoformat(text), precision="day")


def _partial(value: object) -> object:
    return value if value is None or isinstance(value, PartialDate) else PartialDate.parse(value)


def _period(value: object) -> object:
    """A (start, end) pair; an end known only to the month or year means its last day."""
    if value is None:
        return None
    if isinstance(value, dict):
        value = (value["start"], value["end"])
    start, end = value  # type: ignore[misc]
    start, end = _partial(start), _partial(end)
    if isinstance(end, PartialDate) and end.precision != "day":
        last_month = 12 if end.precision == "year" else end.date.month
        next_first = date(end.date.year + (last_month == 12), last_month % 12 + 1, 1)
        end = PartialDate(date=date.fromordinal(next_first.toordinal() - 1), precision="day")
    return (start, end)


class SourceRef(Config):
    """A citation: a document from sources.yaml and where in it, or an outside address."""

    doc: Slug
    section: str | None = None
    table: str | None = Field(default=None, pattern=r"^Table \d+$")
    page: int | None = None
    url: str | None = None
    title: str | None = None
    confidence: str | None = None

    @model_validator(mode="after")
    def _locates_something(self) -> "SourceRef":
        if not (self.section or self.table or self.url):
            raise ValueError("a source needs a section, a table or a url")
        return self


Sources = Annotated[list[SourceRef], Field(min_length=1)]


class TimelineEventRecord(Config):
    date: PartialDate
    type: EventType
    description: str = Field(min_length=10)
    sources: Sources

    _date = field_validator("date", mode="before")(lambda v: _partial(v))


class BaselineStatus(Config):
    """The status the source itself supports, loaded as the item's first approved update."""

    status: Status
    progress: int | None = Field(default=None, ge=0, le=100)
    note: str = Field(min_length=10)
    effective_date: PartialDate
    jurisdiction: Jurisdiction | None = None
    evidence: Sources

    _date = field_validator("effective_date", mode="before")(lambda v: _partial(v))


class ItemRecord(Config):
    slug: Slug
    kind: ItemKind
    title: str = Field(min_length=3, max_length=300)
    short_title: str | None = Field(default=None, max_length=80)
    aliases: list[str] = []
    summary: str = Field(min_length=20)
    parent: Slug | None = None
    number: str | None = None
    themes: list[Theme] = []
    jurisdiction: Jurisdiction | None = None
    institutions: list[str] = []
    target_actors: list[TargetActor] = []
    start_date: PartialDate | None = None
    end_date: PartialDate | None = None
    target_date: PartialDate | None = None
    related: list[Slug] = []
    sources: Sources
    status: list[BaselineStatus] = Field(min_length=1)
    timeline: list[TimelineEventRecord] = []

    _dates = field_validator("start_date", "end_date", "target_date", mode="before")(
        lambda v: _partial(v)
    )

    @field_validator("status", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, dict) else value


class DocumentRecord(Config):
    id: Slug
    title: str
    publisher: str | None = None
    year: int | None = None
    url: str | None = None
    kind: Literal["report", "reference", "law", "news"] = "report"


class ObservationRecord(Config):
    """One row or one stated figure. Dimensions absent from a row mean 'all of them'."""

    period: tuple[PartialDate, PartialDate] | None = None
    dimensions: dict[str, str] = {}
    metrics: dict[str, int | float] = Field(min_length=1)
    note: str | None = None
    section: str | None = None
    total: bool = False
    sources: list[SourceRef] = []

    _period = field_validator("period", mode="before")(lambda v: _period(v))

    @field_validator("dimensions")
    @classmethod
    def _known_dimensions(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(DIMENSIONS))
        if unknown:
            raise ValueError(f"unknown dimension(s) {unknown}; known: {sorted(DIMENSIONS)}")
        return value

    @field_validator("metrics")
    @classmethod
    def _metric_names(cls, value: dict[str, int | float]) -> dict[str, int | float]:
        bad = [name for name in value if not re.match(SNAKE, name)]
        if bad:
            raise ValueError(f"metric names must be snake_case: {bad}")
        return value


class StatisticsFile(Config):
    """A table of the report, or the figures stated in one section's running text."""

    id: Slug
    title: str
    doc: Slug
    table: str | None = Field(default=None, pattern=r"^Table \d+$")
    section: str | None = None
    period: tuple[PartialDate, PartialDate] | None = None
    dimensions: dict[str, str] = {}
    confidence: str | None = None
    note: str | None = None
    observations: list[ObservationRecord] = Field(min_length=1)

    _period = field_validator("period", mode="before")(lambda v: _period(v))


class GroupRecord(Config):
    slug: Slug
    name: str
    full_name: str
    aliases: list[str] = []
    type: Literal["religiously_inspired", "nationalist_insurgent", "sectarian", "criminal"]
    parent: Slug | None = None
    areas: list[str] = []
    summary: str | None = None
    banned_date: PartialDate | None = None
    sources: Sources

    _date = field_validator("banned_date", mode="before")(lambda v: _partial(v))


class RegionRecord(Config):
    slug: Slug
    name: str
    aliases: list[str] = []
    type: Literal["country", "province", "region", "division", "district", "city"]
    parent: Slug | None = None
    jurisdiction: Jurisdiction | None = None
    note: str | None = None


class InstitutionRecord(Config):
    slug: Slug
    name: str
    aliases: list[str] = []
    item: Slug | None = None
    note: str | None = None


class SeriesRef(Config):
    """A slice of the statistics: a metric under fixed dimensions, optionally one table."""

    metric: str = Field(pattern=SNAKE)
    dimensions: dict[str, str] = {}
    table: str | None = None
    statistics: Slug | None = None


class LinkRecord(Config):
    item: Slug
    series: SeriesRef
    rationale: str = Field(min_length=10)


class ItemCreate(ItemRecord):
    """An item as a reviewer creates it through the API: status and timeline may come later."""

    status: list[BaselineStatus] = []  # type: ignore[assignment]
