"""Accounts and keys: create, revoke, authenticate."""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import ROLE_RANK, Account, ApiKey, Role
from app.audit import service as audit
from app.core.errors import NigranError, NotFound
from app.core.security import hash_key, key_matches, key_prefix, new_key
from app.core.time import utcnow


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
    prefix = key_prefix(key)
    found = await _key_and_account(session, prefix) if prefix else None
    if found is None or not key_matches(key, found[0].key_hash):
        raise Unauthenticated("the API key is not valid")
    return _active_actor(*found)


def key_reference(key_hash: str) -> str:
    """Names one key without revealing it or its hash: what a browser session keeps beside the
    prefix, so a session is tied to the exact key that signed in (a signed cookie naming only a
    public prefix would be forgeable by anyone holding the signing secret alone)."""
    return hashlib.sha256(f"nigran-session:{key_hash}".encode()).hexdigest()[:32]


async def actor_for_prefix(session: AsyncSession, prefix: str, *, reference: str) -> Actor:
    """The actor of a key that signed in earlier, checked again on every request so that a
    revoked or expired key stops working at once; `reference` is its `key_reference`."""
    found = await _key_and_account(session, prefix)
    if found is None or not hmac.compare_digest(key_reference(found[0].key_hash), reference):
        raise Unauthenticated("the signed-in key is not valid")
    return _active_actor(*found)
