"""Incident statistics: the report's observations, incident records from outside data sets and
their import runs, and the militant groups and places both name."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.time import utcnow
from app.core.types import AwareDateTime, JSONValue

# Dimensions kept as indexed columns so every filter is a plain equality on both engines.
DIMENSION_COLUMNS = {
    "region": "region",
    "district": "district",
    "group": "group_name",
    "group_type": "group_type",
    "target": "target",
    "tactic": "tactic",
    "force": "force",
    "victim": "victim",
    "incident_type": "incident_type",
    "party": "party",
    "operation_type": "operation_type",
    "election": "election",
    "country": "country",
}


class StatisticsTable(SQLModel, table=True):
    """A numbered table of a report, or the figures one section states in its text."""

    __tablename__ = "statistics_table"

    id: str = Field(primary_key=True, max_length=120)
    title: str
    doc_id: str = Field(foreign_key="document.id", max_length=120)
    table_label: str | None = Field(default=None, index=True, max_length=20)
    section: str | None = Field(default=None, max_length=40)
    confidence: str | None = None
    note: str | None = None


class Observation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    statistics_id: str = Field(foreign_key="statistics_table.id", index=True, ondelete="CASCADE")
    position: int = 0
    table_label: str | None = Field(default=None, index=True, max_length=20)
    section: str | None = Field(default=None, max_length=40)
    period_start: date = Field(index=True)
    period_end: date = Field(index=True)
    is_total: bool = False
    region: str | None = Field(default=None, index=True, max_length=80)
    district: str | None = Field(default=None, index=True, max_length=80)
    group_name: str | None = Field(default=None, index=True, max_length=80)
    group_type: str | None = Field(default=None, max_length=40)
    target: str | None = Field(default=None, index=True, max_length=200)
    tactic: str | None = Field(default=None, max_length=120)
    force: str | None = Field(default=None, max_length=80)
    victim: str | None = Field(default=None, max_length=80)
    incident_type: str | None = Field(default=None, max_length=120)
    party: str | None = Field(default=None, max_length=120)
    operation_type: str | None = Field(default=None, max_length=80)
    election: str | None = Field(default=None, max_length=20)
    country: str | None = Field(default=None, max_length=80)
    metrics: dict[str, float] = Field(
        default_factory=dict, sa_column=Column(JSONValue, nullable=False)
    )
    note: str | None = None
    sources: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONValue, nullable=False)
    )


class ObservationMetric(SQLModel, table=True):
    """One metric of an observation, so 'observations that count X' is an indexed lookup."""

    __tablename__ = "observation_metric"

    observation_id: int = Field(foreign_key="observation.id", primary_key=True, ondelete="CASCADE")
    metric: str = Field(primary_key=True, index=True, max_length=60)
    value: float


class MilitantGroup(SQLModel, table=True):
    __tablename__ = "militant_group"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=120)
    name: str = Field(unique=True, max_length=120)
    full_name: str
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSONValue, nullable=False))
    type: str = Field(max_length=40)
    parent_slug: str | None = Field(default=None, max_length=120)
    areas: list[str] = Field(default_factory=list, sa_column=Column(JSONValue, nullable=False))
    summary: str | None = None
    banned_date: date | None = None
    sources: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONValue, nullable=False)
    )


class Place(SQLModel, table=True):
    """A country, province, region, district or city, with the spellings people use."""

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=120)
    name: str = Field(unique=True, max_length=120)
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSONValue, nullable=False))
    type: str = Field(max_length=20)
    parent_slug: str | None = Field(default=None, max_length=120)
    jurisdiction: str | None = Field(default=None, max_length=40)
    note: str | None = None


class IncidentImport(SQLModel, table=True):
    """One run of `nigran import incidents` or `POST /incidents/import`, kept as provenance."""

    __tablename__ = "incident_import"

    id: int | None = Field(default=None, primary_key=True)
    file_name: str = Field(max_length=255)
    checksum: str = Field(max_length=64, index=True)
    format: str = Field(max_length=20)
    dataset: str = Field(max_length=60)
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    not_found: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] = Field(
        default_factory=dict, sa_column=Column(JSONValue, nullable=False)
    )
    unmapped: dict[str, list[str]] = Field(
        default_factory=dict, sa_column=Column(JSONValue, nullable=False)
    )
    actor: str = Field(max_length=160)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class IncidentRecord(SQLModel, table=True):
    """One incident from an outside data set (ACLED, or Nigran's own CSV), never an aggregate.

    Region, district and group hold the service's canonical names when the alias tables know the
    origin's spelling, and the origin's spelling verbatim when they do not (`*_mapped` false).
    """

    __tablename__ = "incident_record"
    __table_args__ = (
        UniqueConstraint("dataset", "origin_id"),
        Index("ix_incident_record_dataset_date", "dataset", "event_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    dataset: str = Field(max_length=60)
    origin_id: str = Field(max_length=80)
    event_date: date = Field(index=True)
    date_precision: str = Field(default="day", max_length=5)
    region: str | None = Field(default=None, index=True, max_length=120)
    region_mapped: bool = False
    district: str | None = Field(default=None, max_length=120)
    district_mapped: bool = False
    location: str | None = Field(default=None, max_length=200)
    group_name: str | None = Field(default=None, index=True, max_length=200)
    group_mapped: bool = False
    actors: list[str] = Field(default_factory=list, sa_column=Column(JSONValue, nullable=False))
    target: str | None = Field(default=None, max_length=120)
    event_type: str | None = Field(default=None, max_length=120)
    tactic: str | None = Field(default=None, max_length=120)
    killed: int | None = None
    injured: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    source: str | None = None
    notes: str | None = None
    origin_timestamp: int | None = Field(default=None, sa_type=BigInteger)
    content_hash: str = Field(max_length=64)
    import_id: int = Field(foreign_key="incident_import.id")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class IncidentRevision(SQLModel, table=True):
    """The values a record held before a revised export replaced them."""

    __tablename__ = "incident_revision"

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(foreign_key="incident_record.id", index=True, ondelete="CASCADE")
    import_id: int = Field(foreign_key="incident_import.id")
    previous: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONValue, nullable=False)
    )
    replaced_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
