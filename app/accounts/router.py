"""Key management for admins (the CLI does the same from a shell)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from app.accounts import service
from app.accounts.auth import AdminActor
from app.accounts.models import Role
from app.core.config import get_settings
from app.core.db import SessionDep

router = APIRouter(prefix="/keys", tags=["accounts"])


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


@router.post(
    "", status_code=201, response_model=KeyCreated, summary="Create an account and key (admins)"
)
async def create_key(body: KeyCreate, actor: AdminActor, session: SessionDep) -> KeyCreated:
    issued = await service.create_key(
        session,
        name=body.name,
        role=body.role,
        expires_in_days=body.expires_in_days or get_settings().key_days,
        actor=actor.label,
    )
    return KeyCreated(
        key=issued.key, prefix=issued.prefix, role=issued.role, expires_at=issued.expires_at
    )


@router.post("/{prefix}/revoke", status_code=204, summary="Revoke a key (admins)")
async def revoke_key(prefix: str, actor: AdminActor, session: SessionDep) -> None:
    await service.revoke_key(session, prefix=prefix, actor=actor.label)
