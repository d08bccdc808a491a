"""Tables for policy items, their citations, timelines, relations and the institution registry."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.time import utcnow
from app.core.types import AwareDateTime, JSONValue


class Document(SQLModel, table=True):
    """A document that records cite (the founding report, the reference facts, ...)."""

    id: str = Field(primary_key=True, max_length=120)
    title: str
    publisher: str | None = None
    year: int | None = None
    url: str | None = None
    kind: str = Field(default="report", max_length=20)


class PolicyItem(SQLModel, table=True):
    __tablename__ = "policy_item"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, index=True, max_length=120)
    kind: str = Field(index=True, max_length=40)
    title: str
    short_title: str | None = None
    number: str | None = Field(default=None, max_length=20)
    summary: str
    parent_id: int | None = Field(default=None, foreign_key="policy_item.id", index=True)
    jurisdiction: str | None = Field(default=None, max_length=40)
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSONValue, nullable=False))
    target_actors: list[str] = Field(
        default_factory=list, sa_column=Column(JSONValue, nullable=False)
    )
    sources: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONValue, nullable=False)
    )
    start_date: date | None = None
    start_precision: str | None = Field(default=None, max_length=5)
    end_date: date | None = None
    end_precision: str | None = Field(default=None, max_length=5)
    target_date: date | None = None
    # Current status, denormalized from the approved history so reads never scan it.
    status: str = Field(default="unknown", index=True, max_length=30)
    progress: int | None = None
    status_date: date | None = None
    # When an update was last approved: what "stale" is measured from.
    last_approved_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    version: int = Field(default=1)
    origin: str = Field(default="seed", max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class ItemTheme(SQLModel, table=True):
    __tablename__ = "item_theme"

    item_id: int = Field(foreign_key="policy_item.id", primary_key=True, ondelete="CASCADE")
    theme: str = Field(primary_key=True, index=True, max_length=40)


class ItemInstitution(SQLModel, table=True):
    __tablename__ = "item_institution"

    item_id: int = Field(foreign_key="policy_item.id", primary_key=True, ondelete="CASCADE")
    institution: str = Field(primary_key=True, index=True, max_length=120)
    position: int = 0


class ItemRelation(SQLModel, table=True):
    """An item says it concerns another (a recommendation and the response it addresses)."""

    __tablename__ = "item_relation"

    item_id: int = Field(foreign_key="policy_item.id", primary_key=True, ondelete="CASCADE")
    related_id: int = Field(
        foreign_key="policy_item.id", primary_key=True, index=True, ondelete="CASCADE"
    )


class TimelineEvent(SQLModel, table=True):
    """A dated development. Approved status changes are recorded here too (type status_change),
    so the timeline and the feed read one table in date order."""

    __tablename__ = "timeline_event"
    __table_args__ = (Index("ix_timeline_event_state_date", "review_state", "event_date", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="policy_item.id", index=True, ondelete="CASCADE")
    event_date: date = Field(index=True)
    date_precision: str = Field(default="day", max_length=5)
    type: str = Field(max_length=30)
    description: str
    sources: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONValue, nullable=False)
    )
    origin: str = Field(default="seed", max_length=10)
    position: int = 0
    author: str = Field(default="Nigran seed", max_length=160)
    review_state: str = Field(default="approved", index=True, max_length=10)
    reviewed_by: str | None = Field(default=None, max_length=160)
    reviewed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    review_reason: str | None = None
    status_update_id: int | None = Field(default=None, foreign_key="status_update.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)


class Institution(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(unique=True, max_length=120)
    name: str = Field(unique=True, max_length=120)
    aliases: list[str] = Field(default_factory=list, sa_column=Column(JSONValue, nullable=False))
    item_slug: str | None = Field(default=None, max_length=120)
    note: str | None = None


class SeriesLink(SQLModel, table=True):
    """A policy item tied to the incident series it is meant to change."""

    __tablename__ = "series_link"
    __table_args__ = (UniqueConstraint("item_id", "metric", "series_key"),)

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="policy_item.id", index=True, ondelete="CASCADE")
    metric: str = Field(max_length=60)
    series_key: str = Field(max_length=400)
    dimensions: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSONValue, nullable=False)
    )
    table_label: str | None = Field(default=None, max_length=20)
    statistics_id: str | None = Field(default=None, max_length=120)
    rationale: str
