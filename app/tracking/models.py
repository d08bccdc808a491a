"""The append-only history of status updates."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from app.core.time import utcnow
from app.core.types import AwareDateTime, JSONValue


class ReviewState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class StatusUpdate(SQLModel, table=True):
    __tablename__ = "status_update"
    __table_args__ = (
        # Serves "latest approved update of an item (as of a date)" as one index seek.
        Index(
            "ix_status_update_item_latest",
            "item_id",
            "review_state",
            "effective_date",
            "recorded_at",
            "id",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="policy_item.id", ondelete="CASCADE")
    status: str = Field(max_length=30)
    progress: int | None = None
    note: str
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONValue, nullable=False)
    )
    jurisdiction: str | None = Field(default=None, max_length=40)
    author: str = Field(max_length=160)
    effective_date: date
    effective_precision: str = Field(default="day", max_length=5)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    review_state: str = Field(default=ReviewState.PENDING, max_length=10)
    reviewed_by: str | None = Field(default=None, max_length=160)
    reviewed_at: datetime | None = Field(default=None, sa_type=AwareDateTime, index=True)
    review_reason: str | None = None
    origin: str = Field(default="seed", max_length=10)
    # The item version the proposer saw: approving it later is a stale write unless the
    # reviewer confirms the current version with If-Match.
    base_version: int | None = None
    seed_key: str | None = Field(default=None, max_length=64, index=True)


class Correction(SQLModel, table=True):
    """A suggestion from the public, held for review and never published before it."""

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="policy_item.id", index=True, ondelete="CASCADE")
    message: str
    proposed_status: str | None = Field(default=None, max_length=30)
    evidence: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONValue, nullable=False)
    )
    contact: str | None = Field(default=None, max_length=200)
    base_version: int
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    review_state: str = Field(default=ReviewState.PENDING, index=True, max_length=10)
    reviewed_by: str | None = Field(default=None, max_length=160)
    reviewed_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    review_reason: str | None = None
    status_update_id: int | None = Field(default=None, foreign_key="status_update.id")
