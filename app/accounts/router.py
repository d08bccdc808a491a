"""Key management for admins (the CLI does the same from a shell)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from app.accounts import service
from app.accounts.auth import AdminActor
from app.accounts.models import Role
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.pagination import Cursor, Limit, decode_cursor, encode_cursor

router = APIRouter(prefix="/keys", tags=["accounts"])

# A response that carries a key must not be kept by any cache on the way.
NO_STORE = "no-store"


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=2, max_length=120)]
    role: Role
    expires_in_days: Annotated[int | None, Field(ge=1, le=3650)] = None


class KeyCreated(BaseModel):
    key: str
    prefix: str
    role: Role
    expires_at: datetime | None


class KeyRotate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expires_in_days: Annotated[
        int | None,
        Field(ge=1, le=3650, description="Days the new key lasts (default NIGRAN_KEY_DAYS)."),
    ] = None


class KeyRotated(KeyCreated):
    rotated_from: str = Field(description="Prefix of the key this one replaces.")
    old_expires_at: datetime = Field(
        description="When the replaced key stops working: now plus "
        "NIGRAN_KEY_ROTATION_GRACE_HOURS, or its own expiry if that came sooner."
    )


class KeyOut(BaseModel):
    prefix: str
    name: str
    role: Role
    state: service.KeyState
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(
        description="Last successful authentication, to within a minute."
    )
    rotated_from: str | None
    rotated_to: str | None


class KeyPage(BaseModel):
    items: list[KeyOut]
    next_cursor: str | None


@router.get("", response_model=KeyPage, summary="List keys, never their secrets (admins)")
async def list_keys(
    actor: AdminActor, session: SessionDep, limit: Limit = 100, cursor: Cursor = None
) -> KeyPage:
    rows = await service.list_keys(session, after=decode_cursor(cursor) or 0, limit=limit + 1)
    page = rows[:limit]
    return KeyPage(
        items=[KeyOut.model_validate(row, from_attributes=True) for row in page],
        next_cursor=encode_cursor(page[-1].id) if len(rows) > limit else None,
    )


@router.post(
    "", status_code=201, response_model=KeyCreated, summary="Create an account and key (admins)"
)
async def create_key(
    body: KeyCreate, actor: AdminActor, session: SessionDep, response: Response
) -> KeyCreated:
    issued = await service.create_key(
        session,
        name=body.name,
        role=body.role,
        expires_in_days=body.expires_in_days or get_settings().key_days,
        actor=actor.label,
    )
    response.headers["Cache-Control"] = NO_STORE
    return KeyCreated(
        key=issued.key, prefix=issued.prefix, role=issued.role, expires_at=issued.expires_at
    )


@router.post(
    "/{prefix}/rotate",
    status_code=201,
    response_model=KeyRotated,
    summary="Replace a key; the old one works for a grace period (admins)",
    responses={
        404: {"description": "No such key"},
        409: {"description": "Revoked, expired or already rotated"},
    },
)
async def rotate_key(
    prefix: str,
    actor: AdminActor,
    session: SessionDep,
    response: Response,
    body: KeyRotate | None = None,
) -> KeyRotated:
    """Issues a new key for the same account (same name and role), shown once. The old key
    keeps working until `old_expires_at`. Not idempotent by design: a retry gets 409, naming
    the replacement in `rotated_to`."""
    rotated = await service.rotate_key(
        session,
        prefix=prefix,
        actor=actor.label,
        expires_in_days=body.expires_in_days if body else None,
    )
    response.headers["Cache-Control"] = NO_STORE
    return KeyRotated(
        key=rotated.key,
        prefix=rotated.prefix,
        role=rotated.role,
        expires_at=rotated.expires_at,
        rotated_from=rotated.rotated_from,
        old_expires_at=rotated.old_expires_at,
    )


@router.post("/{prefix}/revoke", status_code=204, summary="Revoke a key (admins)")
async def revoke_key(prefix: str, actor: AdminActor, session: SessionDep) -> None:
    await service.revoke_key(session, prefix=prefix, actor=actor.label)
