"""Response shapes for incident statistics and the entities they name."""

from datetime import date

from pydantic import BaseModel

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
