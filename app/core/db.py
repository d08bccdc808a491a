"""Engine, session factory and the one request-scoped session dependency."""

from collections.abc import AsyncIterator, Callable
from functools import lru_cache
from typing import Annotated, Any, Concatenate, TypeVar
from weakref import WeakKeyDictionary

from fastapi import Depends, Request
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from app.core.config import get_settings

# Named constraints make migrations reviewable and reversible on both engines.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata: MetaData = SQLModel.metadata
SQLITE_BEGIN = "nigran_sqlite_begin"
T = TypeVar("T")
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def make_engine(url: str) -> AsyncEngine:
    settings = get_settings()
    if url.startswith("sqlite"):
        engine = create_async_engine(
            url,
            echo=settings.sql_echo,
            connect_args={"timeout": settings.sqlite_busy_timeout_seconds},
            pool_timeout=settings.db_pool_timeout_seconds,
            # get_session always ends its transaction itself, so the pool's extra ROLLBACK on
            # return would only cost a round trip per request.
            pool_reset_on_return=None,
        )
        _sqlite_pragmas(engine.sync_engine)
        return engine
    return create_async_engine(
        url,
        echo=settings.sql_echo,
        pool_size=settings.pool_size,
        max_overflow=settings.pool_max_overflow,
        pool_pre_ping=True,
        pool_reset_on_return=None,
        pool_timeout=settings.db_pool_timeout_seconds,
        # Bounded waits: without them a hung server or a cut network (no RST) holds a request,
        # and the pool's pre-ping, forever. asyncpg raises TimeoutError; errors.py makes it 503.
        connect_args={
            "timeout": settings.db_connect_timeout_seconds,
            "command_timeout": settings.db_command_timeout_seconds,
        },
    )


def _sqlite_pragmas(engine: Engine) -> None:
    """WAL, foreign keys, and BEGIN emitted by us so writers can take the lock up front."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        # A deferred transaction that reads and then writes can fail with SQLITE_BUSY when
        # another writer got in between; write requests start IMMEDIATE and wait their turn.
        mode = connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


TRANSACTION_MEMO = "nigran_transaction_memo"


def transaction_memo(session: AsyncSession | Session) -> dict[str, Any]:
    """Values read once per transaction rather than once per use (the search index's statistics,
    the chat's facts: one chat message searches several times). Dropped at commit and rollback,
    since the next transaction may see other writes; a write to what a value describes drops
    that value itself."""
    return session.info.setdefault(TRANSACTION_MEMO, {})  # type: ignore[no-any-return]


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _forget_transaction_memo(session: Session) -> None:
    session.info.pop(TRANSACTION_MEMO, None)


@lru_cache
def get_engine() -> AsyncEngine:
    return make_engine(get_settings().database_url)


def session_factory(engine: AsyncEngine | None = None) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine or get_engine(), expire_on_commit=False)


async def get_sessionmaker() -> async_sessionmaker[AsyncSession]:
    # async def: FastAPI would run a plain def in its thread pool, a hop on every request.
    return _default_sessionmaker()


@lru_cache
def _default_sessionmaker() -> async_sessionmaker[AsyncSession]:
    return session_factory()


async def get_session(
    request: Request,
    sessionmaker: Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)],
) -> AsyncIterator[AsyncSession]:
    """One session per request: commit on success, roll back on any error."""
    async with sessionmaker() as session:
        if request.method in WRITE_METHODS:
            await begin_write(session)
        try:
            yield session
            if session.in_transaction():  # most reads never touch their session
                await session.commit()
        except BaseException:
            if session.in_transaction():
                await session.rollback()
            raise


async def begin_write(session: AsyncSession) -> None:
    """Start a transaction that will write (takes SQLite's write lock at BEGIN)."""
    await session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})


# scope="function": the session commits (or rolls back) when the endpoint returns, before the
# response is sent, so a client never sees success for a write whose commit then failed, and a
# follow-up request sent the moment the answer arrives sees the committed data.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]

_sqlite_readers: WeakKeyDictionary[AsyncEngine, Engine] = WeakKeyDictionary()


async def get_read_engine(
    sessionmaker: Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)],
) -> AsyncEngine:
    return sessionmaker.kw["bind"]


ReadEngineDep = Annotated[AsyncEngine, Depends(get_read_engine)]


async def run_read(
    engine: AsyncEngine, read: Callable[Concatenate[Connection, ...], T], *args: Any
) -> T:
    """Run `read(connection, *args)`, a function of plain SQLAlchemy Core statements, in one
    read-only transaction (one snapshot).

    On PostgreSQL it runs through the async engine. On SQLite it runs on a synchronous
    connection of the same file, on the event loop itself: the reads it is used for are a few
    index seeks of tens of microseconds each, while aiosqlite hands every statement to its
    thread and back (about 0.3 ms each), and a WAL reader never waits for a writer.
    """
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        reader = _sqlite_readers.get(engine)
        if reader is None:
            url = engine.url.set(drivername="sqlite")
            reader = _sqlite_readers[engine] = create_engine(url, pool_reset_on_return=None)
            _sqlite_pragmas(reader)
        with reader.connect() as connection:
            try:
                return read(connection, *args)
            finally:
                connection.rollback()
    async with engine.connect() as connection:
        return await connection.run_sync(read, *args)
