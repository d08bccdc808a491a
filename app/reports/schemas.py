"""Shapes of the progress summary and the change list."""

import datetime as dt
from datetime import date

from pydantic import BaseModel

from app.policies.schemas import ItemRef


class Breakdown(BaseModel):
    total: int
    by_status: dict[str, int]
    implemented: int
    partially_implemented: int
    share_implemented: float
    share_partially_implemented: float


class ClauseProgress(BaseModel):
    slug: str
    number: str | None
    title: str
    status: str


class SectionProgress(Breakdown):
    slug: str
    title: str


class DatedRef(ItemRef):
    date: dt.date | None = None


class ChangeCounts(BaseModel):
    since: date
    status_changes: int
    new_events: int
    new_items: int


class Summary(BaseModel):
    as_of: date
    total: int
    by_status: dict[str, int]
    implemented: int
    partially_implemented: int
    share_implemented: float
    share_partially_implemented: float
    by_kind: dict[str, Breakdown]
    nap_clauses: list[ClauseProgress]
    by_recommendation_section: list[SectionProgress]
    by_institution: dict[str, Breakdown]
    by_theme: dict[str, Breakdown]
    stalled: list[ItemRef]
    past_target_date: list[DatedRef]
    stale_after_days: int
    stale: list[DatedRef]
    changes: ChangeCounts | None = None


class StatusChange(BaseModel):
    item: str
    title: str
    status: str
    jurisdiction: str | None
    effective_date: date
    approved_at: str
    note: str


class NewEvent(BaseModel):
    item: str
    date: date
    type: str
    description: str
    recorded_at: str


class NewItem(BaseModel):
    slug: str
    kind: str
    title: str
    created_at: str


class Changes(BaseModel):
    since: date
    status_changes: list[StatusChange]
    new_events: list[NewEvent]
    new_items: list[NewItem]
