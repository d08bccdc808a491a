"""Who is calling: `Authorization: Bearer <key>` resolved once per request, as dependencies."""

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.accounts.models import Role
from app.accounts.service import Actor, Forbidden, Unauthenticated, authenticate
from app.core.config import get_settings
from app.core.db import SessionDep, SessionmakerDep
from app.core.ratelimit import RateLimiter

_bearer = HTTPBearer(auto_error=False, description="An API key from `nigran keys create`.")
failed_auth = RateLimiter(
    get_settings().failed_auth_per_minute, 60, "failed authentications", name="failed-auth"
)
writes = RateLimiter(get_settings().writes_per_minute, 60, "writes", name="writes")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def optional_actor(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor | None:
    if credentials is None:
        if request.headers.get("authorization"):
            raise Unauthenticated("send the key as `Authorization: Bearer <key>`")
        return None
    address = client_address(request)
    await failed_auth.check(address)
    try:
        actor = await authenticate(session, credentials.credentials)
    except Unauthenticated:
        await failed_auth.record(address)
        raise
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        await writes.hit(f"key:{actor.key_prefix}")
    return actor


async def optional_reader(
    request: Request,
    sessionmaker: SessionmakerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor | None:
    """`optional_actor` for read-only routes on the hot path: a session is opened only when a
    key is sent, so an anonymous read costs none (the route reads through `run_read`)."""
    if credentials is None and not request.headers.get("authorization"):
        return None
    async with sessionmaker() as session:
        actor = await optional_actor(request, session, credentials)
        if session.in_transaction():  # the key's last use, when it was due
            await session.commit()
    return actor


def require(role: Role):  # type: ignore[no-untyped-def]
    async def dependency(actor: Annotated[Actor | None, Depends(optional_actor)]) -> Actor:
        if actor is None:
            raise Unauthenticated("this endpoint needs an API key (Authorization: Bearer <key>)")
        if not actor.can(role):
            raise Forbidden(f"this needs the {role} role; your key has {actor.role}")
        return actor

    return dependency


OptionalActor = Annotated[Actor | None, Depends(optional_actor)]
OptionalReader = Annotated[Actor | None, Depends(optional_reader)]
MonitorActor = Annotated[Actor, Depends(require(Role.MONITOR))]
ReviewerActor = Annotated[Actor, Depends(require(Role.REVIEWER))]
AdminActor = Annotated[Actor, Depends(require(Role.ADMIN))]
