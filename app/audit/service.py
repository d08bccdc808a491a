"""Append to and verify the audit chain.

Each entry's hash covers its content and the previous entry's hash, so altering, deleting or
reordering any row breaks every hash after it. Appends are serialized (an advisory lock on
PostgreSQL; SQLite write transactions are already exclusive) so the chain never forks.
"""

import hashlib
import json
from datetime import UTC
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from app.core.time import utcnow

GENESIS = "0" * 64
_CHAIN_LOCK = 724_001  # arbitrary constant naming the audit chain's advisory lock


def _digest(entry: AuditEntry) -> str:
    at = entry.at.astimezone(UTC).isoformat(timespec="microseconds")
    content = [
        entry.id,
        at,
        entry.actor,
        entry.action,
        entry.target_type,
        entry.target,
        entry.details,
    ]
    payload = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256((entry.prev_hash + payload).encode()).hexdigest()


async def append(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    target_type: str,
    target: str,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CHAIN_LOCK})
    last = (
        await session.execute(
            select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
        )
    ).first()
    entry = AuditEntry(
        id=(last.id + 1) if last else 1,
        at=utcnow(),
        actor=actor,
        action=action,
        target_type=target_type,
        target=target,
        details=json.loads(json.dumps(details or {}, default=str)),
        prev_hash=last.hash if last else GENESIS,
        hash="",
    )
    entry.hash = _digest(entry)
    session.add(entry)
    await session.flush()
    return entry


class ChainReport(BaseModel):
    intact: bool
    entries: int
    first_broken_id: int | None = None
    problem: str | None = None


async def verify(session: AsyncSession, batch: int = 1000) -> ChainReport:
    """Walk the whole chain in id order, recomputing every hash."""
    expected_prev, expected_id, count, after = GENESIS, 1, 0, 0
    while True:
        rows = list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.id > after).order_by(AuditEntry.id).limit(batch)
            )
        )
        for entry in rows:
            problem = None
            if entry.id != expected_id:
                problem = f"entry {expected_id} is missing"
            elif entry.prev_hash != expected_prev:
                problem = "its link to the previous entry does not match"
            elif _digest(entry) != entry.hash:
                problem = "its content does not match its hash"
            if problem:
                return ChainReport(
                    intact=False, entries=count, first_broken_id=entry.id, problem=problem
                )
            expected_prev, expected_id, count = entry.hash, expected_id + 1, count + 1
        if len(rows) < batch:
            return ChainReport(intact=True, entries=count)
        after = rows[-1].id  # type: ignore[assignment]
