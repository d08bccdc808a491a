"""The audit log: readable by reviewers, verifiable by anyone."""

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from app.accounts.auth import ReviewerActor
from app.audit import service
from app.audit.models import AuditEntry
from app.core.db import SessionDep
from app.core.pagination import Cursor, Limit, decode_cursor, encode_cursor

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntryOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target_type: str
    target: str
    details: dict[str, Any]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None


@router.get("", response_model=AuditPage, summary="Audit entries, oldest first (reviewers)")
async def list_entries(
    actor: ReviewerActor, session: SessionDep, limit: Limit = 100, cursor: Cursor = None
) -> AuditPage:
    after = decode_cursor(cursor) or 0
    rows = list(
        await session.scalars(
            select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(limit + 1)
        )
    )
    page = rows[:limit]
    return AuditPage(
        items=[AuditEntryOut.model_validate(r, from_attributes=True) for r in page],
        next_cursor=encode_cursor(page[-1].id) if len(rows) > limit else None,  # type: ignore[arg-type]
    )


@router.get("/verify", response_model=service.ChainReport, summary="Is the audit chain intact?")
async def verify(session: SessionDep) -> service.ChainReport:
    return await service.verify(session)
