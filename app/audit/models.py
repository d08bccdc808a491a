"""The append-only, hash-chained audit log."""

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.core.time import utcnow
from app.core.types import AwareDateTime, JSONValue


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    actor: str = Field(max_length=160)
    action: str = Field(max_length=60)
    target_type: str = Field(max_length=40)
    target: str = Field(max_length=160)
    details: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONValue, nullable=False)
    )
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64, unique=True)
