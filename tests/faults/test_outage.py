"""A database outage is a 503 with Retry-After, never a 500 and never a hang, and the service
recovers by itself when the database is back.

PostgreSQL is reached through a TCP proxy (tests/faults/proxy.py) that the tests cut, freeze
and restore, so the shared server the rest of the suite uses is never stopped. A locked SQLite
file is the SQLite half.
"""

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import httpx
import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from app.accounts import auth
from app.accounts.models import Role
from app.accounts.service import create_key
from app.core.config import get_settings
from app.core.db import make_engine
from app.core.errors import PROBLEM_JSON, database_unavailable
from app.main import create_app
from tests.conftest import Database
from tests.databases import _dsn
from tests.faults.proxy import FaultyProxy

SLUG = "anti-money-laundering-act-2010"
CONNECT_TIMEOUT, COMMAND_TIMEOUT = 1.0, 2.0
# The cache's version check (2 s) + the pool's ping (command timeout) + a new connection.
BOUND = 2.0 + COMMAND_TIMEOUT + CONNECT_TIMEOUT + 1.5
postgres_only = pytest.mark.parametrize("engine_name", ["postgresql"], indirect=True)
sqlite_only = pytest.mark.parametrize("engine_name", ["sqlite"], indirect=True)


@dataclass
class Outage:
    proxy: FaultyProxy
    http: AsyncClient
    db: Database  # the database itself, reached directly (not through the proxy)
    monitor: str
    reviewer: str


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "db_connect_timeout_seconds", CONNECT_TIMEOUT)
    monkeypatch.setattr(settings, "db_command_timeout_seconds", COMMAND_TIMEOUT)
    monkeypatch.setattr(settings, "sqlite_busy_timeout_seconds", 0.5)
    for limiter in (auth.writes, auth.failed_auth):
        limiter.reset()


async def _keys(db: Database) -> tuple[str, str]:
    async with db.session() as session, session.begin():
        monitor = await create_key(session, name="outage monitor", role=Role.MONITOR)
        reviewer = await create_key(session, name="outage reviewer", role=Role.REVIEWER)
    return monitor.key, reviewer.key


@pytest.fixture
async def outage(seeded_db: Database, short_timeouts: None) -> AsyncIterator[Outage]:
    url = make_url(seeded_db.url)
    proxy = FaultyProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    engine = make_engine(through)
    monitor, reviewer = await _keys(seeded_db)
    app = create_app(engine)
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
            yield Outage(proxy, http, seeded_db, monitor, reviewer)
    finally:
        await proxy.stop()
        if app.state.data_version is not None:
            await app.state.data_version.close()
        await engine.dispose()


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _proposal() -> dict[str, object]:
    return {
        "status": "implemented",
        "note": "Confirmed by the provincial home department.",
        "effective_date": "2025-01-15",
        "evidence": [
            {"url": "https://example.org/r", "title": "Report", "published": "2025-01-10"}
        ],
    }


async def _timed(request) -> tuple[httpx.Response, float]:  # type: ignore[no-untyped-def]
    start = time.monotonic()
    response = await request
    return response, time.monotonic() - start


def _assert_unavailable(response: httpx.Response, seconds: float) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == str(get_settings().db_retry_after_seconds)
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == 503
    assert body["title"] == "Database unavailable"
    assert "database is unavailable" in body["detail"]
    assert seconds < BOUND, f"took {seconds:.1f} s"


def _requests(o: Outage) -> dict[str, object]:
    """Requests of every kind that need the database."""
    return {
        "cached item read": o.http.get(f"/api/v1/items/{SLUG}"),
        "item list": o.http.get("/api/v1/items", params={"limit": 5}),
        "incident stats": o.http.get("/api/v1/stats"),
        "signed-in read": o.http.get("/api/v1/review-queue", headers=_bearer(o.reviewer)),
        "write": o.http.post(
            f"/api/v1/items/{SLUG}/status-updates", json=_proposal(), headers=_bearer(o.monitor)
        ),
    }


async def _assert_up(o: Outage) -> None:
    health = await o.http.get("/api/v1/health")
    assert health.status_code == 200, health.text
    assert health.json()["database"]["state"] == "up"
    assert health.json()["status"] == "ok"
    for name, request in _requests(o).items():
        response = await request  # type: ignore[misc]
        assert response.status_code in (200, 201), f"{name}: {response.text}"


async def _assert_down(o: Outage) -> None:
    """Every kind of request, all at once as traffic would come, is refused in bounded time."""
    requests = {**_requests(o), "health": o.http.get("/api/v1/health")}
    answers = dict(
        zip(requests, await asyncio.gather(*map(_timed, requests.values())), strict=True)
    )
    health, seconds = answers.pop("health")
    for name, (response, took) in answers.items():
        assert response.status_code == 503, f"{name}: {response.status_code} {response.text}"
        _assert_unavailable(response, took)
    assert health.status_code == 503, health.text
    assert health.headers["retry-after"]
    body = health.json()
    assert body["status"] == "down"
    assert body["database"]["state"] == "down"
    assert body["database"]["engine"] == "postgresql"
    assert seconds < BOUND


@postgres_only
async def test_stopped_database_is_503_then_recovers(outage: Outage) -> None:
    """The server goes away (connections reset, new ones refused), then comes back."""
    await _assert_up(outage)
    cached = await outage.http.get(f"/api/v1/items/{SLUG}")
    assert cached.status_code == 200  # built and stored by _assert_up; now a hit
    await outage.proxy.stop()
    # A cached copy is not served: without the data version nobody can tell it is still
    # current, so stale data would be served as fresh. 503 says what is true.
    await _assert_down(outage)
    await _assert_down(outage)  # and again: no state left behind by the first round
    await outage.proxy.start()  # the same address: no restart of the app
    await _assert_up(outage)
    again = await outage.http.get(f"/api/v1/items/{SLUG}")
    assert again.status_code == 200 and again.json()["slug"] == SLUG


@postgres_only
async def test_hung_database_times_out_then_recovers(outage: Outage) -> None:
    """A server that accepts and never answers (or a network that drops every packet): only
    the connect and command timeouts end the wait."""
    await _assert_up(outage)
    outage.proxy.freeze()
    await _assert_down(outage)
    await outage.proxy.stop()
    await outage.proxy.start()
    await _assert_up(outage)


async def _lock_items(db: Database) -> asyncpg.Connection:
    """Hold an exclusive lock on the items table from outside the app (not via the proxy)."""
    conn = await asyncpg.connect(_dsn(db.url))
    await conn.execute("BEGIN")
    await conn.execute("LOCK TABLE policy_item IN ACCESS EXCLUSIVE MODE")
    return conn


@postgres_only
async def test_connection_lost_mid_request(outage: Outage) -> None:
    """The connection breaks while the request's query is running: 503, and the broken
    connection is not handed to the next request."""
    await _assert_up(outage)
    lock = await _lock_items(outage.db)
    try:
        pending = asyncio.create_task(_timed(outage.http.get("/api/v1/items", params={"limit": 7})))
        await asyncio.sleep(0.5)  # the request is now waiting on the lock, inside its query
        assert not pending.done()
        outage.proxy.drop_connections()
        response, seconds = await pending
    finally:
        await lock.close()
    _assert_unavailable(response, seconds)
    await _assert_up(outage)  # the pool replaced what it lost


@postgres_only
async def test_statement_past_the_command_timeout(outage: Outage) -> None:
    """A statement that waits longer than the command timeout is abandoned: 503 in bounded
    time, and the connection (still healthy) serves the next request."""
    lock = await _lock_items(outage.db)
    try:
        response, seconds = await _timed(outage.http.get("/api/v1/items", params={"limit": 8}))
    finally:
        await lock.close()
    _assert_unavailable(response, seconds)
    assert seconds >= COMMAND_TIMEOUT * 0.9
    await _assert_up(outage)


@sqlite_only
async def test_sqlite_locked_beyond_busy_timeout(
    seeded_db: Database, short_timeouts: None, tmp_path: object
) -> None:
    """Another process holds the write lock past the busy timeout: writes get 503, reads go
    on (WAL), and writes succeed once the lock is released."""
    engine = make_engine(seeded_db.url)
    monitor, _ = await _keys(seeded_db)
    app = create_app(engine)
    path = make_url(seeded_db.url).database
    assert path
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
            holder.execute("BEGIN IMMEDIATE")
            write = http.post(
                f"/api/v1/items/{SLUG}/status-updates", json=_proposal(), headers=_bearer(monitor)
            )
            response, seconds = await _timed(write)
            _assert_unavailable(response, seconds)
            assert "locked" in response.json()["detail"]
            read = await http.get(f"/api/v1/items/{SLUG}")
            assert read.status_code == 200
            holder.execute("ROLLBACK")
            write = await http.post(
                f"/api/v1/items/{SLUG}/status-updates", json=_proposal(), headers=_bearer(monitor)
            )
            assert write.status_code == 201, write.text
            assert (await http.get("/api/v1/health")).json()["database"]["state"] == "up"
    finally:
        holder.close()
        if app.state.data_version is not None:
            await app.state.data_version.close()
        await engine.dispose()


# --- what is and is not "the database is unavailable" --------------------------------------


async def test_connect_errors_count_only_from_the_database_layers() -> None:
    try:
        await asyncpg.connect("postgresql://postgres@127.0.0.1:1/none", timeout=2)
    except OSError as exc:
        refused: OSError = exc
    assert database_unavailable(refused)
    try:
        raise ConnectionRefusedError(111, "Connection refused")  # not from a database call
    except OSError as exc:
        assert database_unavailable(exc) is None
    try:
        raise TimeoutError
    except TimeoutError as exc:
        assert database_unavailable(exc) is None


@pytest.mark.parametrize(
    ("error", "unavailable"),
    [
        (
            sa_exc.OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked")),
            True,
        ),
        (sa_exc.OperationalError("x", {}, sqlite3.OperationalError("no such table: t")), False),
        (
            sa_exc.OperationalError("x", {}, sqlite3.OperationalError('near "x": syntax error')),
            False,
        ),
        (sa_exc.IntegrityError("x", {}, sqlite3.IntegrityError("UNIQUE constraint failed")), False),
        (sa_exc.DBAPIError("x", {}, Exception("lost"), connection_invalidated=True), True),
        (sa_exc.DBAPIError("x", {}, Exception("bad value"), connection_invalidated=False), False),
        (sa_exc.ProgrammingError("x", {}, Exception("column does not exist")), False),
        (sa_exc.TimeoutError("QueuePool limit of size 5 overflow 5 reached"), True),
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.AdminShutdownError("terminating connection"), True),
        (asyncpg.exceptions.TooManyConnectionsError("too many clients"), True),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), False),
        (asyncpg.exceptions.InterfaceError("another operation is in progress"), False),
        (ValueError("a bug"), False),
    ],
)
def test_what_counts_as_unavailable(error: Exception, unavailable: bool) -> None:
    assert bool(database_unavailable(error)) is unavailable


async def test_genuine_errors_are_not_503() -> None:
    """A constraint violation or a missing table is the app's fault: still a 500, not 503."""
    from fastapi import APIRouter

    app = create_app()
    probe = APIRouter()

    @probe.get("/api/v1/_integrity")
    async def _integrity() -> None:
        raise sa_exc.IntegrityError("INSERT", {}, sqlite3.IntegrityError("UNIQUE failed"))

    @probe.get("/api/v1/_locked")
    async def _locked() -> None:
        raise sa_exc.OperationalError("BEGIN", {}, sqlite3.OperationalError("database is locked"))

    @probe.get("/api/v1/_oserror")
    async def _oserror() -> None:
        raise OSError(28, "No space left on device")

    app.include_router(probe)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as http:
        assert (await http.get("/api/v1/_integrity")).status_code == 500
        assert (await http.get("/api/v1/_oserror")).status_code == 500
        locked = await http.get("/api/v1/_locked")
    _assert_unavailable(locked, 0.0)
