"""Response shapes for policy items."""

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel


class Citation(BaseModel):
    """Where a fact comes from: a document and the section, table or address inside it."""

    doc: str
    document: str | None = None
    section: str | None = None
    table: str | None = None
    page: int | None = None
    url: str | None = None
    title: str | None = None
    confidence: str | None = None


CITATION_FIELDS = {name: None for name in Citation.model_fields}


class ItemRef(BaseModel):
    slug: str
    kind: str
    title: str
    status: str


class StatusEntry(BaseModel):
    id: int
    status: str
    progress: int | None
    note: str
    jurisdiction: str | None
    effective_date: date
    effective_precision: str
    recorded_at: datetime
    author: str
    review_state: str
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_reason: str | None
    evidence: list[Citation]


class TimelineEntry(BaseModel):
    id: int
    item: str
    item_title: str | None = None
    item_kind: str | None = None
    date: date
    date_precision: str
    type: str
    description: str
    sources: list[Citation]


class SeriesLinkOut(BaseModel):
    metric: str
    dimensions: dict[str, str]
    table: str | None
    statistics: str | None
    rationale: str
    stats_url: str
    trend_url: str


class ItemSummary(BaseModel):
    slug: str
    kind: str
    title: str
    short_title: str | None
    number: str | None
    status: str
    progress: int | None
    status_date: date | None
    parent: str | None
    jurisdiction: str | None
    themes: list[str]
    institutions: list[str]
    target_actors: list[str]
    summary: str
    sources: list[Citation]
    version: int


class ItemDetail(ItemSummary):
    aliases: list[str]
    start_date: date | None
    start_precision: str | None
    end_date: date | None
    end_precision: str | None
    target_date: date | None
    status_by_jurisdiction: dict[str, StatusEntry]
    history: list[StatusEntry]
    timeline: list[TimelineEntry]
    children: list[ItemRef]
    related: list[ItemRef]
    related_by: list[ItemRef]
    links: list[SeriesLinkOut]
    created_at: datetime
    updated_at: datetime


class ItemPage(BaseModel):
    items: list[ItemSummary]
    next_cursor: str | None


def citations(raw: list[dict[str, Any]], titles: dict[str, str]) -> list[Citation]:
    return [Citation(**c, document=titles.get(c.get("doc", ""))) for c in raw]
