"""Key hygiene: rotation with a grace period, listing without secrets, last use, timing."""

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import event, select, update
from sqlalchemy.engine import make_url

from app.accounts import auth, service
from app.accounts.models import ApiKey, Role
from app.accounts.service import IssuedKey, Unauthenticated, authenticate, create_key, revoke_key
from app.audit import service as audit
from app.audit.models import AuditEntry
from app.core.config import PROJECT_ROOT, get_settings
from app.core.db import begin_write, make_engine, session_factory
from app.core.security import hash_key
from app.core.time import utcnow
from tests.conftest import Database, _client_for
from tests.databases import Templates

API = "/api/v1"
GRACE = timedelta(hours=get_settings().key_rotation_grace_hours)


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """Rate limits live in process memory; each test starts with clean windows."""
    for limiter in (auth.failed_auth, auth.writes):
        limiter.reset()
    yield


@dataclass
class Keys:
    admin: IssuedKey
    reviewer: IssuedKey
    monitor: IssuedKey


async def issue(db: Database, name: str, role: Role, days: int | None = 365) -> IssuedKey:
    async with db.session() as session, session.begin():
        return await create_key(session, name=name, role=role, expires_in_days=days)


@pytest.fixture
async def keys(mini_db: Database) -> Keys:
    return Keys(
        admin=await issue(mini_db, "Key admin", Role.ADMIN),
        reviewer=await issue(mini_db, "Desk reviewer", Role.REVIEWER),
        monitor=await issue(mini_db, "Field monitor", Role.MONITOR),
    )


@pytest.fixture
async def http(mini_db: Database) -> AsyncIterator[AsyncClient]:
    async with _client_for(mini_db) as client:
        yield client


def bearer(key: IssuedKey | str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key if isinstance(key, str) else key.key}"}


def secret_of(key: str) -> str:
    """The part after `ngr_<prefix>_` (which may itself hold underscores)."""
    return key.split("_", 2)[2]


def is_problem(response: Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == status


async def stored_key(db: Database, prefix: str) -> ApiKey:
    async with db.session() as session:
        found = (await session.scalars(select(ApiKey).where(ApiKey.prefix == prefix))).one()
        session.expunge(found)
        return found


async def rotate(http: AsyncClient, admin: IssuedKey, prefix: str, **body: object) -> Response:
    return await http.post(f"{API}/keys/{prefix}/rotate", headers=bearer(admin), json=body or None)


# Rotation ------------------------------------------------------------------------------------


async def test_a_rotated_key_and_its_replacement_both_work_within_the_grace(
    mini_db: Database, keys: Keys, http: AsyncClient
) -> None:
    before = utcnow()
    response = await rotate(http, keys.admin, keys.reviewer.prefix)
    after = utcnow()
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["rotated_from"] == keys.reviewer.prefix
    assert body["role"] == "reviewer" and body["prefix"] != keys.reviewer.prefix
    assert body["key"].startswith(f"ngr_{body['prefix']}_")
    old_expiry = datetime.fromisoformat(body["old_expires_at"])
    assert before + GRACE <= old_expiry <= after + GRACE

    for key in (keys.reviewer.key, body["key"]):
        queue = await http.get(f"{API}/review-queue", headers=bearer(key))
        assert queue.status_code == 200, queue.text
    # The same account: same name and role, so still no admin rights.
    is_problem(await http.get(f"{API}/keys", headers=bearer(body["key"])), 403)
    async with mini_db.session() as session:
        new = await authenticate(session, body["key"])
        old = await authenticate(session, keys.reviewer.key)
    assert (new.account_id, new.name, new.role) == (old.account_id, old.name, old.role)

    new_row = await stored_key(mini_db, body["prefix"])
    assert new_row.rotated_from_prefix == keys.reviewer.prefix
    assert new_row.expires_at is not None and new_row.expires_at > after + timedelta(days=364)
    assert (await stored_key(mini_db, keys.reviewer.prefix)).expires_at == old_expiry


async def test_after_the_grace_the_old_key_gets_401(
    mini_db: Database, keys: Keys, http: AsyncClient
) -> None:
    new_key = (await rotate(http, keys.admin, keys.reviewer.prefix)).json()["key"]
    async with mini_db.session() as session, session.begin():
        await session.execute(
            update(ApiKey)
            .where(ApiKey.prefix == keys.reviewer.prefix)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    refused = await http.get(f"{API}/review-queue", headers=bearer(keys.reviewer))
    is_problem(refused, 401)
    assert "expired" in refused.json()["detail"]
    assert refused.headers["www-authenticate"] == "Bearer"
    assert (await http.get(f"{API}/review-queue", headers=bearer(new_key))).status_code == 200


async def test_a_zero_grace_setting_ends_the_old_key_at_once(
    keys: Keys, http: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(get_settings(), "key_rotation_grace_hours", 0)
    new_key = (await rotate(http, keys.admin, keys.monitor.prefix)).json()["key"]
    is_problem(await http.get(f"{API}/review-queue", headers=bearer(keys.monitor)), 401)
    assert (await http.get(f"{API}/review-queue", headers=bearer(new_key))).status_code == 403


async def test_a_key_expiring_before_the_grace_ends_keeps_its_expiry(
    mini_db: Database, keys: Keys, http: AsyncClient
) -> None:
    soon = utcnow() + timedelta(hours=1)
    async with mini_db.session() as session, session.begin():
        await session.execute(
            update(ApiKey).where(ApiKey.prefix == keys.monitor.prefix).values(expires_at=soon)
        )
    response = await rotate(http, keys.admin, keys.monitor.prefix, expires_in_days=30)
    assert response.status_code == 201, response.text
    assert datetime.fromisoformat(response.json()["old_expires_at"]) == soon
    assert (await stored_key(mini_db, keys.monitor.prefix)).expires_at == soon
    new_expiry = datetime.fromisoformat(response.json()["expires_at"])
    assert timedelta(days=29) < new_expiry - utcnow() <= timedelta(days=30)


async def test_only_live_keys_that_exist_can_be_rotated(
    mini_db: Database, keys: Keys, http: AsyncClient
) -> None:
    is_problem(await rotate(http, keys.admin, "0123456789ab"), 404)

    revoked = await issue(mini_db, "Revoked monitor", Role.MONITOR)
    async with mini_db.session() as session, session.begin():
        await revoke_key(session, prefix=revoked.prefix)
    is_problem(await rotate(http, keys.admin, revoked.prefix), 409)

    expired = await issue(mini_db, "Expired monitor", Role.MONITOR)
    async with mini_db.session() as session, session.begin():
        await session.execute(
            update(ApiKey)
            .where(ApiKey.prefix == expired.prefix)
            .values(expires_at=utcnow() - timedelta(days=1))
        )
    is_problem(await rotate(http, keys.admin, expired.prefix), 409)

    first = await rotate(http, keys.admin, keys.monitor.prefix)
    assert first.status_code == 201
    again = await rotate(http, keys.admin, keys.monitor.prefix)  # a retry does not fork
    is_problem(again, 409)
    assert again.json()["rotated_to"] == first.json()["prefix"]
    assert (await rotate(http, keys.admin, first.json()["prefix"])).status_code == 201


async def test_only_admins_list_or_rotate_keys(keys: Keys, http: AsyncClient) -> None:
    for key in (keys.reviewer, keys.monitor):
        is_problem(await http.get(f"{API}/keys", headers=bearer(key)), 403)
        is_problem(await rotate(http, key, key.prefix), 403)  # not even their own key
    is_problem(await http.get(f"{API}/keys"), 401)
    is_problem(await http.post(f"{API}/keys/{keys.monitor.prefix}/rotate"), 401)


async def test_rotation_is_audited_without_the_secret(
    mini_db: Database, keys: Keys, http: AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The app's own loggers at DEBUG; libraries at INFO (aiosqlite's DEBUG echoes SQL values).
    with caplog.at_level(logging.INFO), caplog.at_level(logging.DEBUG, logger="nigran"):
        response = await rotate(http, keys.admin, keys.monitor.prefix)
        new = response.json()
        assert (await http.get(f"{API}/review-queue", headers=bearer(new["key"]))).status_code
    verified = await http.get(f"{API}/audit/verify")
    assert verified.json()["intact"] is True
    entries = await http.get(f"{API}/audit", headers=bearer(keys.admin))
    rotations = [e for e in entries.json()["items"] if e["action"] == "key.rotate"]
    assert len(rotations) == 1
    assert rotations[0]["target"] == keys.monitor.prefix
    assert rotations[0]["details"]["new_prefix"] == new["prefix"]
    assert rotations[0]["details"]["role"] == "monitor"
    assert rotations[0]["actor"] == f"admin:Key admin (key {keys.admin.prefix})"
    async with mini_db.session() as session:
        assert (await audit.verify(session)).intact
        stored = list(await session.scalars(select(AuditEntry)))
    secret_part = secret_of(new["key"])
    for text in (entries.text, repr([e.model_dump() for e in stored]), caplog.text):
        for secret in (new["key"], secret_part, hash_key(new["key"])):
            assert secret not in text


# Listing -------------------------------------------------------------------------------------


async def test_the_list_shows_every_key_but_no_secret_or_hash(
    mini_db: Database, keys: Keys, http: AsyncClient
) -> None:
    rotated = (await rotate(http, keys.admin, keys.reviewer.prefix)).json()
    async with mini_db.session() as session, session.begin():
        await revoke_key(session, prefix=keys.monitor.prefix)
    response = await http.get(f"{API}/keys", headers=bearer(keys.admin))
    assert response.status_code == 200, response.text
    async with mini_db.session() as session:
        hashes = list(await session.scalars(select(ApiKey.key_hash)))
    secrets = [keys.admin.key, keys.reviewer.key, keys.monitor.key, rotated["key"]]
    for secret in [*secrets, *(secret_of(s) for s in secrets), *hashes]:
        assert secret not in response.text
    assert "hash" not in response.text

    listed = {k["prefix"]: k for k in response.json()["items"]}
    assert set(listed) == {keys.admin.prefix, keys.reviewer.prefix, keys.monitor.prefix} | {
        rotated["prefix"]
    }
    assert set(listed[keys.admin.prefix]) == {
        "prefix",
        "name",
        "role",
        "state",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "rotated_from",
        "rotated_to",
    }
    old, new = listed[keys.reviewer.prefix], listed[rotated["prefix"]]
    assert (old["rotated_to"], old["rotated_from"]) == (rotated["prefix"], None)
    assert (new["rotated_from"], new["rotated_to"]) == (keys.reviewer.prefix, None)
    assert old["name"] == new["name"] == "Desk reviewer" and old["role"] == new["role"]
    assert old["state"] == "active" and old["expires_at"] == rotated["old_expires_at"]
    assert listed[keys.monitor.prefix]["state"] == "revoked"
    assert listed[keys.monitor.prefix]["revoked_at"] is not None
    assert listed[keys.admin.prefix]["last_used_at"] is not None  # it made this request

    first = (await http.get(f"{API}/keys?limit=3", headers=bearer(keys.admin))).json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    rest = await http.get(
        f"{API}/keys", params={"cursor": first["next_cursor"]}, headers=bearer(keys.admin)
    )
    assert [k["prefix"] for k in first["items"] + rest.json()["items"]] == list(listed)
    assert rest.json()["next_cursor"] is None


# Last use ------------------------------------------------------------------------------------


@pytest.fixture
def api_key_updates(mini_db: Database) -> Iterator[list[str]]:
    """UPDATEs of api_key sent through the app's own engine (its request sessions)."""
    seen: list[str] = []

    def listen(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE API_KEY"):
            seen.append(statement)

    event.listen(mini_db.engine.sync_engine, "before_cursor_execute", listen)
    yield seen
    event.remove(mini_db.engine.sync_engine, "before_cursor_execute", listen)


async def test_last_use_is_recorded_once_a_minute_outside_a_read_request(
    mini_db: Database, keys: Keys, http: AsyncClient, api_key_updates: list[str]
) -> None:
    assert (await stored_key(mini_db, keys.reviewer.prefix)).last_used_at is None
    before = utcnow()
    assert (await http.get(f"{API}/review-queue", headers=bearer(keys.reviewer))).status_code == 200
    first = (await stored_key(mini_db, keys.reviewer.prefix)).last_used_at
    assert first is not None and before <= first <= utcnow()
    assert (await http.get(f"{API}/review-queue", headers=bearer(keys.reviewer))).status_code == 200
    assert (await stored_key(mini_db, keys.reviewer.prefix)).last_used_at == first
    # A GET never wrote through its own session: the use went in a transaction of its own.
    assert api_key_updates == []

    a_while_ago = utcnow() - timedelta(seconds=61)
    async with mini_db.session() as session, session.begin():
        await session.execute(
            update(ApiKey)
            .where(ApiKey.prefix == keys.reviewer.prefix)
            .values(last_used_at=a_while_ago)
        )
    assert (await http.get(f"{API}/review-queue", headers=bearer(keys.reviewer))).status_code == 200
    assert (await stored_key(mini_db, keys.reviewer.prefix)).last_used_at > a_while_ago  # type: ignore[operator]
    # Failed authentications record nothing.
    async with mini_db.session() as session, session.begin():
        await session.execute(update(ApiKey).values(last_used_at=None))
    wrong = f"ngr_{keys.monitor.prefix}_not-the-secret"
    is_problem(await http.get(f"{API}/review-queue", headers=bearer(wrong)), 401)
    assert (await stored_key(mini_db, keys.monitor.prefix)).last_used_at is None


async def test_a_write_request_records_last_use_in_its_own_transaction(
    mini_db: Database, keys: Keys, http: AsyncClient, api_key_updates: list[str]
) -> None:
    """A write request already holds the write lock: the use joins its transaction (on SQLite a
    second connection would wait for the very lock this request holds)."""
    spare = await issue(mini_db, "Spare monitor", Role.MONITOR)
    revoked = await http.post(f"{API}/keys/{spare.prefix}/revoke", headers=bearer(keys.admin))
    assert revoked.status_code == 204
    assert len(api_key_updates) == 2  # the use, and the revocation
    assert (await stored_key(mini_db, keys.admin.prefix)).last_used_at is not None
    # Within the minute a second write adds only its own change.
    spare = await issue(mini_db, "Another monitor", Role.MONITOR)
    await http.post(f"{API}/keys/{spare.prefix}/revoke", headers=bearer(keys.admin))
    assert len(api_key_updates) == 3


async def test_a_read_does_not_wait_long_for_a_locked_key_row(
    mini_db: Database,
    keys: Keys,
    http: AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """While another transaction holds the lock (SQLite's write lock, or the key's row on
    PostgreSQL), the read is answered and the use goes unrecorded, by prefix only in the log."""
    monkeypatch.setattr(service, "LAST_USE_WAIT_SECONDS", 0.2)
    async with mini_db.session() as holder:
        await begin_write(holder)
        await holder.execute(
            select(ApiKey).where(ApiKey.prefix == keys.reviewer.prefix).with_for_update()
        )
        with caplog.at_level(logging.WARNING, logger="nigran.accounts"):
            response = await http.get(f"{API}/review-queue", headers=bearer(keys.reviewer))
        await holder.rollback()
    assert response.status_code == 200
    assert f"last use of key {keys.reviewer.prefix} not recorded" in caplog.text
    assert secret_of(keys.reviewer.key) not in caplog.text
    assert (await stored_key(mini_db, keys.reviewer.prefix)).last_used_at is None
    assert (await http.get(f"{API}/review-queue", headers=bearer(keys.reviewer))).status_code == 200
    assert (await stored_key(mini_db, keys.reviewer.prefix)).last_used_at is not None


# Timing --------------------------------------------------------------------------------------


async def test_an_unknown_prefix_costs_the_same_work_as_a_wrong_secret(
    mini_db: Database, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not a timing measurement: the two refusals take the same code path (one lookup by
    prefix, one hash of the presented key, one constant-time compare against a stored-size
    hash), so nothing but the database's index lookup differs."""
    compared: list[tuple[str, str]] = []
    real_matches = service.key_matches

    def spy(key: str, stored_hash: str) -> bool:
        compared.append((key, stored_hash))
        return real_matches(key, stored_hash)

    monkeypatch.setattr(service, "key_matches", spy)
    statements: list[str] = []

    def count(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(mini_db.engine.sync_engine, "before_cursor_execute", count)
    try:
        work = {}
        cases = {
            "unknown prefix": "ngr_0123456789ab_" + secret_of(keys.monitor.key),
            "wrong secret": f"ngr_{keys.monitor.prefix}_" + "x" * 43,
        }
        for case, presented in cases.items():
            compared.clear()
            statements.clear()
            async with mini_db.session() as session:
                with pytest.raises(Unauthenticated) as refused:
                    await authenticate(session, presented)
            assert [c[0] for c in compared] == [presented]
            assert len(compared[0][1]) == 64 and int(compared[0][1], 16) >= 0
            work[case] = (len(compared), list(statements))
            assert refused.value.detail == "the API key is not valid"
    finally:
        event.remove(mini_db.engine.sync_engine, "before_cursor_execute", count)
    assert work["unknown prefix"] == work["wrong secret"]
    lookups = [s for s in work["wrong secret"][1] if s.startswith("SELECT")]
    assert len(lookups) == 1 and "WHERE api_key.prefix = " in lookups[0]


# The command line ----------------------------------------------------------------------------


def _nigran(database: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "nigran"), *args],
        env={**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{database}", **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def sqlite_file(templates: Templates) -> Iterator[Path]:
    url = asyncio.run(templates.copy("sqlite", templates.template("sqlite", "empty")))
    path = Path(make_url(url).database)  # type: ignore[arg-type]
    yield path
    path.unlink(missing_ok=True)


def test_the_commands_rotate_and_list_keys(sqlite_file: Path) -> None:
    created = _nigran(sqlite_file, "keys", "create", "--role", "monitor", "--name", "CLI monitor")
    assert created.returncode == 0, created.stderr
    old_key = created.stdout.strip().splitlines()[-1]
    old_prefix = old_key.split("_")[1]

    before = utcnow()
    rotated = _nigran(
        sqlite_file, "keys", "rotate", old_prefix, NIGRAN_KEY_ROTATION_GRACE_HOURS="2"
    )
    assert rotated.returncode == 0, rotated.stderr
    new_key = rotated.stdout.strip().splitlines()[-1]
    new_prefix = new_key.split("_")[1]
    assert new_key.startswith("ngr_") and new_prefix != old_prefix
    assert f"rotated {old_prefix} to monitor key {new_prefix}" in rotated.stdout

    again = _nigran(sqlite_file, "keys", "rotate", old_prefix)
    assert again.returncode == 1 and f"already rotated to {new_prefix}" in again.stderr
    unknown = _nigran(sqlite_file, "keys", "rotate", "0123456789ab")
    assert unknown.returncode == 1 and "no key with prefix" in unknown.stderr

    listed = _nigran(sqlite_file, "keys", "list")
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()[1:]}
    assert set(lines) == {old_prefix, new_prefix}
    assert new_prefix in lines[old_prefix] and "CLI monitor" in lines[new_prefix]
    for output in (listed.stdout, rotated.stdout.rsplit("\n", 2)[0]):
        for secret in (old_key, new_key, hash_key(old_key), hash_key(new_key)):
            assert secret not in output

    async def stored() -> tuple[ApiKey, list[AuditEntry]]:
        engine = make_engine(f"sqlite+aiosqlite:///{sqlite_file}")
        try:
            async with session_factory(engine)() as session:
                assert (await authenticate(session, old_key)).name == "CLI monitor"
                assert (await authenticate(session, new_key)).name == "CLI monitor"
                assert (await audit.verify(session)).intact
                old = await session.scalars(select(ApiKey).where(ApiKey.prefix == old_prefix))
                entries = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
                return old.one(), list(entries)
        finally:
            await engine.dispose()

    old, entries = asyncio.run(stored())
    assert old.expires_at is not None
    assert before + timedelta(hours=2) <= old.expires_at <= utcnow() + timedelta(hours=2)
    assert [(e.action, e.target, e.actor) for e in entries] == [
        ("key.create", old_prefix, "cli"),
        ("key.rotate", old_prefix, "cli"),
    ]
    assert entries[1].details["new_prefix"] == new_prefix
    assert new_key not in repr(entries) and hash_key(new_key) not in repr(entries)
