"""Accounts and their API keys (stored only as hashes)."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from app.core.time import utcnow
from app.core.types import AwareDateTime


class Role(StrEnum):
    MONITOR = "monitor"
    REVIEWER = "reviewer"
    ADMIN = "admin"


# Each role can do what the roles before it can.
ROLE_RANK = {Role.MONITOR: 1, Role.REVIEWER: 2, Role.ADMIN: 3}


class Account(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=120)
    role: str = Field(max_length=10)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True, ondelete="CASCADE")
    prefix: str = Field(unique=True, max_length=16)
    key_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # Written at most once a minute per key (see accounts.service.LAST_USED_RESOLUTION).
    last_used_at: datetime | None = Field(default=None, sa_type=AwareDateTime)
    # The key this one replaced (`nigran keys rotate`); unique, so a key is rotated only once.
    rotated_from_prefix: str | None = Field(default=None, max_length=16, unique=True, index=True)
