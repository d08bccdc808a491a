"""Accounts and keys: create, rotate, revoke, list, authenticate."""

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from weakref import WeakKeyDictionary

from sqlalchemy import event, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import aliased
from sqlalchemy.pool import NullPool

from app.accounts.models import ROLE_RANK, Account, ApiKey, Role
from app.audit import service as audit
from app.core.config import get_settings
from app.core.db import SQLITE_BEGIN
from app.core.errors import Conflict, NigranError, NotFound
from app.core.security import hash_key, key_matches, key_prefix, new_key
from app.core.time import utcnow

log = logging.getLogger("nigran.accounts")

# A key's last use is recorded at most this often: a burst of requests costs one write.
LAST_USED_RESOLUTION = timedelta(seconds=60)
# How long recording a use may wait for SQLite's write lock (or a PostgreSQL row lock) before
# it gives up; the request goes on either way and the next one tries again.
LAST_USE_WAIT_SECONDS = 2.0
# What an unknown prefix's key is compared against, so that it costs the same hash and compare
# as a known prefix with the wrong secret. Random per process: no key hashes to it.
_DUMMY_HASH = hash_key(new_key()[1])


class Unauthenticated(NigranError):
    status_code = 401
    title = "Unauthenticated"


class Forbidden(NigranError):
    status_code = 403
    title = "Forbidden"


@dataclass(frozen=True)
class Actor:
    """Who is making a request: an account through one of its keys."""

    account_id: int
    name: str
    role: Role
    key_prefix: str

    @property
    def label(self) -> str:
        return f"{self.role}:{self.name} (key {self.key_prefix})"

    def can(self, role: Role) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]


@dataclass(frozen=True)
class IssuedKey:
    key: str
    prefix: str
    account_id: int
    role: Role
    expires_at: datetime | None


async def create_key(
    session: AsyncSession,
    *,
    name: str,
    role: Role,
    expires_in_days: int | None = 365,
    actor: str = "cli",
) -> IssuedKey:
    """A new account with one key; the key itself is returned once and never stored."""
    account = Account(name=name, role=role)
    session.add(account)
    await session.flush()
    prefix, key = new_key()
    expires_at = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
    session.add(
        ApiKey(account_id=account.id, prefix=prefix, key_hash=hash_key(key), expires_at=expires_at)
    )  # type: ignore[arg-type]
    await audit.append(
        session,
        actor=actor,
        action="key.create",
        target_type="key",
        target=prefix,
        details={"account": name, "role": str(role), "expires_at": expires_at},
    )
    return IssuedKey(
        key=key, prefix=prefix, account_id=account.id, role=role, expires_at=expires_at
    )  # type: ignore[arg-type]


async def revoke_key(session: AsyncSession, *, prefix: str, actor: str = "cli") -> ApiKey:
    key = (await session.scalars(select(ApiKey).where(ApiKey.prefix == prefix))).first()
    if key is None:
        raise NotFound(f"no key with prefix {prefix!r}")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await audit.append(
            session, actor=actor, action="key.revoke", target_type="key", target=prefix
        )
    return key


@dataclass(frozen=True)
class RotatedKey(IssuedKey):
    """The replacement key (shown once) and what became of the key it replaces."""

    rotated_from: str
    old_expires_at: datetime


def rotation_grace() -> timedelta:
    return timedelta(hours=get_settings().key_rotation_grace_hours)


async def rotate_key(
    session: AsyncSession,
    *,
    prefix: str,
    actor: str = "cli",
    expires_in_days: int | None = None,
    grace: timedelta | None = None,
) -> RotatedKey:
    """A new key for the same account (so the same name and role), and the old key set to
    expire after `grace` (NIGRAN_KEY_ROTATION_GRACE_HOURS), or sooner if it already did.

    Only a key that still works can be rotated, and only once: a revoked, expired or already
    rotated key is a 409 (rotate its replacement instead)."""
    now = utcnow()
    found = (
        await session.execute(
            select(ApiKey, Account)
            .join(Account)
            .where(ApiKey.prefix == prefix)
            .with_for_update(of=ApiKey)  # PostgreSQL: one rotation at a time (SQLite: BEGIN)
        )
    ).first()
    if found is None:
        raise NotFound(f"no key with prefix {prefix!r}")
    old, account = found[0], found[1]
    if old.revoked_at is not None:
        raise Conflict(f"key {prefix} was revoked; create a new key instead", prefix=prefix)
    if old.expires_at is not None and old.expires_at <= now:
        raise Conflict(f"key {prefix} has expired; create a new key instead", prefix=prefix)
    successor = (
        await session.scalars(select(ApiKey.prefix).where(ApiKey.rotated_from_prefix == prefix))
    ).first()
    if successor is not None:
        raise Conflict(
            f"key {prefix} was already rotated to {successor}; rotate that key instead",
            prefix=prefix,
            rotated_to=successor,
        )
    ends = now + (rotation_grace() if grace is None else grace)
    old.expires_at = min(old.expires_at, ends) if old.expires_at is not None else ends
    days = expires_in_days or get_settings().key_days
    expires_at = now + timedelta(days=days) if days else None
    new_prefix, key = new_key()
    session.add(
        ApiKey(
            account_id=account.id,  # type: ignore[arg-type]
            prefix=new_prefix,
            key_hash=hash_key(key),
            expires_at=expires_at,
            rotated_from_prefix=prefix,
        )
    )
    await audit.append(  # prefixes and dates only: never the key or its hash
        session,
        actor=actor,
        action="key.rotate",
        target_type="key",
        target=prefix,
        details={
            "account": account.name,
            "role": account.role,
            "new_prefix": new_prefix,
            "old_expires_at": old.expires_at,
            "new_expires_at": expires_at,
        },
    )
    return RotatedKey(
        key=key,
        prefix=new_prefix,
        account_id=account.id,  # type: ignore[arg-type]
        role=Role(account.role),
        expires_at=expires_at,
        rotated_from=prefix,
        old_expires_at=old.expires_at,
    )


KeyState = Literal["active", "expired", "revoked"]


@dataclass(frozen=True)
class KeyListing:
    """What an admin may see of a key: everything but the secret and its hash."""

    id: int
    prefix: str
    name: str
    role: Role
    state: KeyState
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    rotated_from: str | None
    rotated_to: str | None


def key_state(revoked_at: datetime | None, expires_at: datetime | None) -> KeyState:
    if revoked_at is not None:
        return "revoked"
    if expires_at is not None and expires_at <= utcnow():
        return "expired"
    return "active"


async def list_keys(session: AsyncSession, *, after: int = 0, limit: int = 100) -> list[KeyListing]:
    """Keys in creation order (keyset-paged by id). The columns are named one by one, so the
    hash is never even read."""
    successor = aliased(ApiKey)
    rows = await session.execute(
        select(
            ApiKey.id,
            ApiKey.prefix,
            Account.name,
            Account.role,
            ApiKey.created_at,
            ApiKey.expires_at,
            ApiKey.revoked_at,
            ApiKey.last_used_at,
            ApiKey.rotated_from_prefix,
            successor.prefix.label("rotated_to"),
        )
        .join(Account, Account.id == ApiKey.account_id)
        .outerjoin(successor, successor.rotated_from_prefix == ApiKey.prefix)
        .where(ApiKey.id > after)  # type: ignore[operator]
        .order_by(ApiKey.id)
        .limit(limit)
    )
    return [
        KeyListing(
            id=row.id,
            prefix=row.prefix,
            name=row.name,
            role=Role(row.role),
            state=key_state(row.revoked_at, row.expires_at),
            created_at=row.created_at,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
            rotated_from=row.rotated_from_prefix,
            rotated_to=row.rotated_to,
        )
        for row in rows
    ]


async def _key_and_account(session: AsyncSession, prefix: str) -> tuple[ApiKey, Account] | None:
    found = (
        await session.execute(select(ApiKey, Account).join(Account).where(ApiKey.prefix == prefix))
    ).first()
    return (found[0], found[1]) if found else None


def _active_actor(api_key: ApiKey, account: Account) -> Actor:
    """The key's actor, unless the key was revoked or has expired."""
    if api_key.revoked_at is not None:
        raise Unauthenticated("the API key was revoked")
    if api_key.expires_at is not None and api_key.expires_at <= utcnow():
        raise Unauthenticated("the API key has expired")
    return Actor(
        account_id=account.id, name=account.name, role=Role(account.role), key_prefix=api_key.prefix
    )  # type: ignore[arg-type]


async def authenticate(session: AsyncSession, key: str) -> Actor:
    """The actor of a full key, and its use recorded (see `record_use`).

    An unknown prefix is hashed and compared just like a known prefix with the wrong secret
    (against a dummy hash), so the time taken does not tell which prefixes exist."""
    prefix = key_prefix(key)
    found = await _key_and_account(session, prefix) if prefix else None
    matches = key_matches(key, found[0].key_hash if found else _DUMMY_HASH)
    if found is None or not matches:
        raise Unauthenticated("the API key is not valid")
    actor = _active_actor(*found)
    await record_use(session, found[0])
    return actor


def key_reference(key_hash: str) -> str:
    """Names one key without revealing it or its hash: what a browser session keeps beside the
    prefix, so a session is tied to the exact key that signed in (a signed cookie naming only a
    public prefix would be forgeable by anyone holding the signing secret alone)."""
    return hashlib.sha256(f"nigran-session:{key_hash}".encode()).hexdigest()[:32]


async def actor_for_prefix(session: AsyncSession, prefix: str, *, reference: str) -> Actor:
    """The actor of a key that signed in earlier, checked again on every request so that a
    revoked or expired key stops working at once; `reference` is its `key_reference`."""
    found = await _key_and_account(session, prefix)
    expected = key_reference(found[0].key_hash if found else _DUMMY_HASH)
    if not hmac.compare_digest(expected, reference) or found is None:
        raise Unauthenticated("the signed-in key is not valid")
    actor = _active_actor(*found)
    await record_use(session, found[0])
    return actor


# Last use ------------------------------------------------------------------------------------

_recording: set[tuple[int, str]] = set()  # (engine, prefix) whose use is being written now
_side_engines: WeakKeyDictionary[AsyncEngine, AsyncEngine] = WeakKeyDictionary()


async def record_use(session: AsyncSession, api_key: ApiKey) -> None:
    """Set the key's `last_used_at`, unless it was set less than a minute ago.

    Most calls write nothing: the value read with the key is fresh. When it is stale:

    - in a write request (the session began with `begin_write`, so it already holds SQLite's
      write lock) the conditional UPDATE joins the request's own transaction;
    - in a read request it runs in a short transaction of its own, on a connection of its own
      outside the request's pool, so a GET never becomes a write transaction, never holds the
      write lock while it works, and cannot wait on the pool it holds a connection of. It waits
      at most LAST_USE_WAIT_SECONDS for the lock; past that, or on any database error, the use
      goes unrecorded (logged, by prefix only) and the request carries on.

    The UPDATE repeats the age test (`last_used_at IS NULL OR last_used_at < now - 60 s`), so
    requests racing in several workers still write once; within this process a request whose
    key is already being written skips the write."""
    now = utcnow()
    cutoff = now - LAST_USED_RESOLUTION
    if api_key.last_used_at is not None and api_key.last_used_at >= cutoff:
        return
    connection = await session.connection()
    engine = connection.engine
    slot = (id(engine), api_key.prefix)
    if slot in _recording:
        return
    statement = (
        update(ApiKey)
        .where(
            ApiKey.prefix == api_key.prefix,  # type: ignore[arg-type]
            or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < cutoff),  # type: ignore[union-attr, operator]
        )
        .values(last_used_at=now)
    )
    _recording.add(slot)
    try:
        options = connection.sync_connection.get_execution_options()  # type: ignore[union-attr]
        in_write = options.get(SQLITE_BEGIN) == "IMMEDIATE"
        if in_write or _in_memory(engine):
            await session.execute(statement, execution_options={"synchronize_session": False})
            return
        try:
            async with _side_engine(engine).begin() as side:
                await side.execute(statement)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("last use of key %s not recorded (%s)", api_key.prefix, type(exc).__name__)
    finally:
        _recording.discard(slot)


def _in_memory(engine: AsyncEngine) -> bool:
    """An in-memory SQLite database is private to its connection: no side connection sees it."""
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")


def _side_engine(engine: AsyncEngine) -> AsyncEngine:
    """An engine on the same database for recording uses: no pool (a write a minute per key
    does not need one, and nothing is left open when the main engine goes), and a short wait
    for locks."""
    side = _side_engines.get(engine)
    if side is not None:
        return side
    if engine.dialect.name == "sqlite":
        side = create_async_engine(
            engine.url,
            echo=engine.echo,
            poolclass=NullPool,
            connect_args={"timeout": LAST_USE_WAIT_SECONDS},
        )

        @event.listens_for(side.sync_engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(side.sync_engine, "begin")
        def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
            connection.exec_driver_sql("BEGIN IMMEDIATE")  # take the write lock, or wait, first

    else:
        wait_ms = str(int(LAST_USE_WAIT_SECONDS * 1000))
        side = create_async_engine(
            engine.url,
            echo=engine.echo,
            poolclass=NullPool,
            connect_args={
                "timeout": LAST_USE_WAIT_SECONDS,
                "server_settings": {"lock_timeout": wait_ms, "application_name": "nigran"},
            },
        )
    _side_engines[engine] = side
    return side
