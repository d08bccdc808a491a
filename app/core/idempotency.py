"""`Idempotency-Key` on POST: a retried request gets the first answer instead of acting twice."""

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import Column, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from app.core.errors import Conflict, InvalidInput
from app.core.time import utcnow
from app.core.types import AwareDateTime, JSONValue


class IdempotencyRecord(SQLModel, table=True):
    """The stored answer to a POST sent with an Idempotency-Key, replayed on retry."""

    __tablename__ = "idempotency_record"

    actor: str = Field(primary_key=True, max_length=160)
    key: str = Field(primary_key=True, max_length=200)
    method: str = Field(max_length=10)
    path: str = Field(max_length=400)
    fingerprint: str = Field(max_length=64)
    status_code: int
    response: Any = Field(default=None, sa_column=Column(JSONValue, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)


async def run_once(
    session: AsyncSession,
    request: Request,
    actor: str,
    body: Any,
    produce: Callable[[], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    """Run `produce` unless this actor already sent this key; then replay the stored answer."""
    key = request.headers.get("idempotency-key")
    if key is None:
        status, payload = await produce()
        return JSONResponse(jsonable_encoder(payload), status_code=status)
    if not 1 <= len(key) <= 200:
        raise InvalidInput("Idempotency-Key must be 1 to 200 characters")
    fingerprint = hashlib.sha256(
        json.dumps(
            [request.method, request.url.path, jsonable_encoder(body)], sort_keys=True
        ).encode()
    ).hexdigest()
    if session.bind.dialect.name == "postgresql":
        # Two identical requests in flight would both miss the stored answer and both act;
        # the second waits here until the first commits, then replays it. (SQLite's writers
        # are already serialized by BEGIN IMMEDIATE.)
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:lock, 0))"),
            {"lock": f"idempotency:{actor}:{key}"},
        )
    stored = (
        await session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.actor == actor, IdempotencyRecord.key == key
            )
        )
    ).first()
    if stored is not None:
        if stored.fingerprint != fingerprint:
            raise Conflict("this Idempotency-Key was already used for a different request")
        response = JSONResponse(stored.response, status_code=stored.status_code)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    status, payload = await produce()
    encoded = jsonable_encoder(payload)
    session.add(
        IdempotencyRecord(
            actor=actor,
            key=key,
            method=request.method,
            path=request.url.path,
            fingerprint=fingerprint,
            status_code=status,
            response=encoded,
        )
    )
    await session.flush()
    return JSONResponse(encoded, status_code=status)
