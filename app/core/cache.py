"""Public GET responses kept as bytes, valid for as long as the database has not changed.

Every anonymous GET is answered from memory when the database's **data version** is the one
the stored response was built at; any committed write, by this process or another (a second
worker, the CLI, psql), changes the version, and the next read builds afresh. A hit costs a
dictionary lookup and one version check, never an ORM session.

The version check is what makes this correct across workers:

- SQLite: `PRAGMA data_version` on a connection of our own, which changes whenever another
  connection commits to the file (microseconds: it reads the shared WAL index).
- PostgreSQL: the current snapshot (`pg_current_snapshot()`), which changes whenever any
  transaction that wrote commits or aborts. Requests waiting at the same moment share one
  query, but each waits for a query that began after it arrived, so a read sent after a write
  was acknowledged (by any worker) always sees it.

Requests that carry credentials (an `Authorization` header or the pages' session cookie) are
never cached: reviewers see pending updates and signed-in pages differ per person. Responses
that set a cookie, stream, or are not 200 are not stored. Entries are also keyed on the UTC
date, since summaries count "stale" items against today.
"""

import asyncio
import hashlib
import logging
import sqlite3
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import asyncpg
from sqlalchemy.engine import make_url
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("nigran.cache")

NOT_CACHED_PREFIXES = ("/static/", "/api/v1/health", "/api/v1/chat/stream")
PRIVATE_COOKIE = b"nigran_session="
VERSION_TIMEOUT_SECONDS = 2.0


class DataVersion(Protocol):
    async def current(self) -> Hashable:
        """A token that differs from every earlier one once any write has committed."""
        ...

    async def close(self) -> None: ...


class SQLiteDataVersion:
    def __init__(self, path: str) -> None:
        self.path = path
        self.uri = Path(path).resolve().as_uri() + "?mode=rw"
        self._connection: sqlite3.Connection | None = None

    async def current(self) -> Hashable:
        if self._connection is None:
            # Only ever used from the event loop's thread; check_same_thread would refuse the
            # connection when the app is driven from another loop (tests, warm-up).
            # mode=rw: checking the version must never create a missing database file.
            self._connection = sqlite3.connect(
                self.uri,
                uri=True,
                isolation_level=None,
                check_same_thread=False,
            )
        return self._connection.execute("PRAGMA data_version").fetchone()[0]

    async def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class PostgresDataVersion:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._connection: asyncpg.Connection | None = None
        self._waiting: asyncio.Future[str] | None = None
        self._runner: asyncio.Task[None] | None = None

    async def current(self) -> Hashable:
        if self._waiting is None:
            self._waiting = asyncio.get_running_loop().create_future()
        waiting = self._waiting
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._answer_waiting())
        return await asyncio.wait_for(asyncio.shield(waiting), VERSION_TIMEOUT_SECONDS)

    async def _answer_waiting(self) -> None:
        # Whoever arrived while a query was out waits for the next one, which starts after
        # they arrived: one round trip serves everyone queued, and none gets an old answer.
        while (waiting := self._waiting) is not None:
            self._waiting = None
            try:
                if self._connection is None or self._connection.is_closed():
                    self._connection = await asyncpg.connect(
                        self.dsn, timeout=VERSION_TIMEOUT_SECONDS
                    )
                snapshot = await self._connection.fetchval(
                    "SELECT pg_current_snapshot()::text", timeout=VERSION_TIMEOUT_SECONDS
                )
            except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
                await self._drop_connection()
                if not waiting.done():
                    waiting.set_exception(exc)
                    waiting.exception()  # retrieved here, so a waiter that timed out is quiet
            else:
                if not waiting.done():
                    waiting.set_result(snapshot)

    async def _drop_connection(self) -> None:
        if self._connection is not None:
            self._connection.terminate()
            self._connection = None

    async def close(self) -> None:
        if self._runner is not None:
            self._runner.cancel()
        if self._connection is not None:
            await self._connection.close()
            self._connection = None


def data_version_for(database_url: str) -> DataVersion | None:
    """The version source for a database, or None where there is none (in-memory SQLite)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
            return None
        return SQLiteDataVersion(url.database)
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return PostgresDataVersion(dsn)


@dataclass(frozen=True, slots=True)
class Entry:
    version: Hashable
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes


class ResponseCache:
    """ASGI middleware: anonymous GETs answered from memory while the data version holds."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        version: DataVersion,
        max_bytes: int,
        max_entry_bytes: int,
        cache_control: str,
    ) -> None:
        self.app = app
        self.version = version
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.cache_control = cache_control.encode()
        self.entries: OrderedDict[tuple[bytes, ...], Entry] = OrderedDict()
        self.size = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or scope["path"].startswith(NOT_CACHED_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        if b"authorization" in headers or PRIVATE_COOKIE in headers.get(b"cookie", b""):
            await self.app(scope, receive, send_private(send))
            return
        try:
            version = await self.version.current()
        except Exception as exc:  # the database is unreachable: let the app answer (or fail)
            log.warning("data version unavailable, not caching: %s", exc)
            version = None
        if version is None:
            # Outside the except block, so the app's own errors do not carry this one as
            # their context (errors.py reads the chain to tell an outage from a bug).
            await self.app(scope, receive, send)
            return
        key = (
            scope["path"].encode(),
            scope["query_string"],
            headers.get(b"accept", b""),
            datetime.now(UTC).date().isoformat().encode(),
        )
        entry = self.entries.get(key)
        if entry is not None and entry.version == version:
            self.entries.move_to_end(key)
            await self._answer(entry, headers.get(b"if-none-match"), send)
            return
        await self._build(scope, receive, send, key, version, headers.get(b"if-none-match"))

    async def _build(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        key: tuple[bytes, ...],
        version: Hashable,
        if_none_match: bytes | None,
    ) -> None:
        """Run the app, holding its answer back until the body is whole so the ETag can be
        computed from it; a streaming answer is passed on as it comes."""
        start: Message | None = None
        chunks: list[bytes] = []
        streaming = False

        async def capture(message: Message) -> None:
            nonlocal start, streaming
            if streaming:
                await send(message)
            elif message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False) and _is_stream(start):
                    streaming = True
                    await send(start)  # type: ignore[arg-type]
                    await send(
                        {"type": "http.response.body", "body": b"".join(chunks), "more_body": True}
                    )
                elif not message.get("more_body", False):
                    await self._finish(start, b"".join(chunks), key, version, if_none_match, send)
            else:
                await send(message)

        await self.app(scope, receive, capture)

    async def _finish(
        self,
        start: Message | None,
        body: bytes,
        key: tuple[bytes, ...],
        version: Hashable,
        if_none_match: bytes | None,
        send: Send,
    ) -> None:
        assert start is not None
        headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
        names = {k.lower() for k, _ in headers}
        if start["status"] != 200 or b"set-cookie" in names or b"cache-control" in names:
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        etag = next((v for k, v in headers if k.lower() == b"etag"), None)
        if etag is None:
            etag = b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'
            headers.append((b"etag", etag))
        headers.append((b"cache-control", self.cache_control))
        entry = Entry(version, 200, headers, body, etag)
        self._store(key, entry)
        await self._answer(entry, if_none_match, send)

    def _store(self, key: tuple[bytes, ...], entry: Entry) -> None:
        cost = len(entry.body) + sum(len(k) for k in key)
        if cost > self.max_entry_bytes:
            return
        old = self.entries.pop(key, None)
        if old is not None:
            self.size -= len(old.body) + sum(len(k) for k in key)
        self.entries[key] = entry
        self.size += cost
        while self.size > self.max_bytes and self.entries:
            evicted_key, evicted = self.entries.popitem(last=False)
            self.size -= len(evicted.body) + sum(len(k) for k in evicted_key)

    async def _answer(self, entry: Entry, if_none_match: bytes | None, send: Send) -> None:
        if if_none_match is not None and _matches(if_none_match, entry.etag):
            validators = [(k, v) for k, v in entry.headers if k in (b"etag", b"cache-control")]
            await send({"type": "http.response.start", "status": 304, "headers": validators})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [*entry.headers, (b"content-length", str(len(entry.body)).encode())]
        await send({"type": "http.response.start", "status": entry.status, "headers": headers})
        await send({"type": "http.response.body", "body": entry.body})

    def clear(self) -> None:
        self.entries.clear()
        self.size = 0


def send_private(send: Send) -> Send:
    """Mark answers to signed-in requests as not for shared caches, unless the app said."""

    async def private(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = message.get("headers", [])
            if not any(k.lower() == b"cache-control" for k, _ in headers):
                message = {
                    **message,
                    "headers": [*headers, (b"cache-control", b"private, no-store")],
                }
        await send(message)

    return private


def _is_stream(start: Message | None) -> bool:
    if start is None:
        return False
    return any(
        k.lower() == b"content-type" and v.startswith(b"text/event-stream")
        for k, v in start.get("headers", [])
    )


def _matches(if_none_match: bytes, etag: bytes) -> bool:
    if if_none_match.strip() == b"*":
        return True
    wanted = etag.removeprefix(b"W/")
    return any(tag.strip().removeprefix(b"W/") == wanted for tag in if_none_match.split(b","))
