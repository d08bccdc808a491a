"""Export the whole database to a dump, and restore a dump into an empty database.

Export reads one consistent snapshot. Restore runs in one transaction: it refuses a dump of
another schema revision or a database that already holds data, inserts every row, resets
PostgreSQL's sequences, rebuilds the search index, then re-reads what it wrote and checks it
against the dump's checksums and the audit chain; anything amiss rolls the whole restore back.
Neither appends to the audit log: a restored database is the exported one, entry for entry.
"""

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table, bindparam, func, inspect, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from app.audit import service as audit
from app.backup.dump import (
    DumpInvalid,
    RestoreMismatch,
    SchemaMismatch,
    TableCodec,
    TableDigest,
    TargetNotEmpty,
    canonical,
    check_header,
    dumped_columns,
    dumped_tables,
    header,
    header_line,
    open_for_reading,
    open_for_writing,
    parse_row,
    row_line,
    value_kind,
)
from app.core.db import begin_write, get_engine, metadata, session_factory
from app.core.time import utcnow
from app.search import index as search_index

BATCH = 1000
READ_BATCH = 2000


@dataclass
class DumpSummary:
    """What an export wrote or a restore loaded."""

    schema_revision: str
    tables: dict[str, TableDigest]
    search_entries: int | None = None
    audit_entries: int | None = None

    @property
    def rows(self) -> int:
        return sum(d.rows for d in self.tables.values())

    def __str__(self) -> str:
        filled = ", ".join(f"{name} {d.rows}" for name, d in self.tables.items() if d.rows)
        return f"{len(self.tables)} tables, {self.rows} rows (schema {self.schema_revision})" + (
            f"\n  {filled}" if filled else ""
        )


@dataclass
class _Deferred:
    """Self-references, inserted as NULL and set once every row exists (a row may point at
    one with a higher key, which PK order inserts later)."""

    columns: list[str]
    values: list[dict[str, Any]] = field(default_factory=list)


async def schema_revision(session: AsyncSession) -> str:
    """The database's Alembic revision."""

    def read(sync_session: Any) -> bool:
        return inspect(sync_session.connection()).has_table("alembic_version")

    if not await session.run_sync(read):
        raise SchemaMismatch("the database has no alembic_version: run `nigran db upgrade`")
    versions = sorted(await session.scalars(text("SELECT version_num FROM alembic_version")))
    if not versions:
        raise SchemaMismatch("the database has no schema revision: run `nigran db upgrade`")
    return ",".join(versions)


def _ordered(session: AsyncSession, table: Table) -> list[ColumnElement[Any]]:
    """The primary key in byte order on both engines (PostgreSQL's default collation sorts text
    by locale; "C" sorts it as SQLite does)."""
    dialect = session.get_bind().dialect.name
    order: list[ColumnElement[Any]] = []
    for column in table.primary_key.columns:
        if value_kind(column) is str:
            order.append(column.collate("C" if dialect == "postgresql" else "BINARY"))
        else:
            order.append(column)
    return order


async def _canonical_rows(session: AsyncSession, table: Table) -> AsyncIterator[str]:
    codec = TableCodec.of(table)
    query = select(*dumped_columns(table)).order_by(*_ordered(session, table))
    result = await session.stream(query.execution_options(yield_per=READ_BATCH))
    async for row in result.mappings():
        yield canonical(codec.encode(row))


async def table_digests(session: AsyncSession) -> dict[str, TableDigest]:
    """Row count and checksum of every dumped table, as they are in the database now."""
    digests: dict[str, TableDigest] = {}
    for table in dumped_tables():
        digest = digests[table.name] = TableDigest()
        async for row_text in _canonical_rows(session, table):
            digest.add(row_text)
    return digests


async def write_dump(session: AsyncSession, out: IO[str]) -> DumpSummary:
    """Write the dump of what `session` sees (run it in one snapshot) to `out`."""
    revision = await schema_revision(session)
    digests: dict[str, TableDigest] = {}
    # The header carries the checksums, so the rows wait in a temporary file.
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="\n") as body:
        for table in dumped_tables():
            digest = digests[table.name] = TableDigest()
            async for row_text in _canonical_rows(session, table):
                digest.add(row_text)
                body.write(row_line(table.name, row_text))
        head = header(
            schema_revision=revision,
            created_at=utcnow(),
            engine=session.get_bind().dialect.name,
            tables=digests,
        )
        out.write(header_line(head))
        body.seek(0)
        shutil.copyfileobj(body, out)
    return DumpSummary(revision, digests)


async def export_database(path: Path, engine: AsyncEngine | None = None) -> DumpSummary:
    """`nigran export`: dump every table to `path` (gzipped if it ends in .gz)."""
    try:
        async with session_factory(engine)() as session:
            if session.get_bind().dialect.name == "postgresql":
                await session.connection(
                    execution_options={
                        "isolation_level": "REPEATABLE READ",
                        "postgresql_readonly": True,
                    }
                )
            # SQLite: one read transaction in WAL mode is one snapshot.
            with open_for_writing(path) as out:
                summary = await write_dump(session, out)
            await session.rollback()
    finally:
        if engine is None:
            await get_engine().dispose()
    return summary


async def _refuse_unless_empty(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # Nobody else writes while the restore runs (SQLite's write lock is already held).
        names = ", ".join(
            session.get_bind().dialect.identifier_preparer.format_table(t)
            for t in metadata.sorted_tables
        )
        await session.execute(text(f"LOCK TABLE {names} IN EXCLUSIVE MODE"))
    filled = []
    for table in dumped_tables():
        if await session.scalar(select(select(table).exists())):
            filled.append(table.name)
    if filled:
        raise TargetNotEmpty(
            "restore only fills an empty database; this one has rows in "
            + ", ".join(filled)
            + " (create a new database and run `nigran db upgrade` on it)"
        )


def _deferred(table: Table) -> _Deferred:
    return _Deferred([fk.parent.name for fk in table.foreign_keys if fk.column.table is table])


async def _insert(
    session: AsyncSession, table: Table, rows: list[dict[str, Any]], deferred: _Deferred
) -> None:
    if not rows:
        return
    pk = [c.name for c in table.primary_key.columns]
    for row in rows:
        later = {c: row[c] for c in deferred.columns if row[c] is not None}
        if later:
            deferred.values.append({**{f"pk_{k}": row[k] for k in pk}, **later})
            row.update(dict.fromkeys(later))
    try:
        await session.execute(table.insert(), rows)
    except DBAPIError as exc:
        raise RestoreMismatch(f"{table.name}: the database refused a row: {exc.orig}") from exc
    rows.clear()


async def _apply_deferred(session: AsyncSession, table: Table, deferred: _Deferred) -> None:
    """Set the self-references once their targets exist, one column at a time."""
    pk = list(table.primary_key.columns)
    for column in deferred.columns:
        values = [
            {**{f"pk_{c.name}": v[f"pk_{c.name}"] for c in pk}, f"new_{column}": v[column]}
            for v in deferred.values
            if column in v
        ]
        if values:
            statement = (
                update(table)
                .where(*(c == bindparam(f"pk_{c.name}") for c in pk))
                .values({column: bindparam(f"new_{column}")})
            )
            await session.execute(statement, values)


async def _reset_sequences(session: AsyncSession) -> None:
    """PostgreSQL: the next generated id follows the highest restored one."""
    if session.get_bind().dialect.name != "postgresql":
        return
    preparer = session.get_bind().dialect.identifier_preparer
    for table in metadata.sorted_tables:
        key = list(table.primary_key.columns)
        if len(key) != 1 or value_kind(key[0]) is not int:
            continue
        sequence = await session.scalar(
            select(func.pg_get_serial_sequence(preparer.format_table(table), key[0].name))
        )
        if sequence:
            highest = select(func.coalesce(func.max(key[0]), 0) + 1).scalar_subquery()
            await session.execute(select(func.setval(sequence, highest, False)))


def _readable(lines: Iterable[str]) -> Iterator[str]:
    try:
        yield from lines
    except (EOFError, OSError, UnicodeDecodeError) as exc:  # gzip cut short, bad bytes
        raise DumpInvalid(f"the dump cannot be read to its end: {exc}") from exc


async def load_dump(session: AsyncSession, lines: Iterable[str]) -> DumpSummary:
    """Restore a dump into the empty database of `session`'s write transaction, checking
    everything before the caller commits; raises (and the caller rolls back) on any problem."""
    iterator = _readable(lines)
    head = check_header(next(iterator, None))
    revision = await schema_revision(session)
    if head["schema_revision"] != revision:
        raise SchemaMismatch(
            f"the dump is of schema revision {head['schema_revision']}, the database is at "
            f"{revision}: migrate the database to the dump's revision (`nigran db upgrade "
            f"{head['schema_revision']}`), or export again from a database at {revision}"
        )
    tables = dumped_tables()
    expected = head["tables"]
    if set(expected) != {t.name for t in tables}:
        raise DumpInvalid(
            "the dump's tables are not this schema's: "
            f"{sorted(set(expected) ^ {t.name for t in tables})} differ"
        )
    await _refuse_unless_empty(session)

    position = {t.name: n for n, t in enumerate(tables)}
    codecs = {t.name: TableCodec.of(t) for t in tables}
    deferred = {t.name: _deferred(t) for t in tables}
    read = {t.name: TableDigest() for t in tables}
    current, batch = 0, []
    for number, line in enumerate(iterator, start=2):
        name, row = parse_row(line, number)
        if name not in position:
            raise DumpInvalid(f"line {number}: unknown table {name!r}")
        if position[name] < current:
            raise DumpInvalid(f"line {number}: {name} rows out of dependency order")
        if position[name] != current:
            await _insert(session, tables[current], batch, deferred[tables[current].name])
            current = position[name]
        read[name].add(canonical(row))
        batch.append(codecs[name].decode(row))
        if len(batch) >= BATCH:
            await _insert(session, tables[current], batch, deferred[name])
    await _insert(session, tables[current], batch, deferred[tables[current].name])

    for name, digest in read.items():
        want = expected[name]
        if (digest.rows, digest.checksum) != (want["rows"], want["checksum"]):
            raise DumpInvalid(
                f"the dump is damaged: {name} has {digest.rows} rows "
                f"(header: {want['rows']}) and its checksum does not match the header's"
                if digest.rows != want["rows"]
                else f"the dump is damaged: {name}'s rows do not match the header's checksum"
            )
    for table in tables:
        await _apply_deferred(session, table, deferred[table.name])
    await _reset_sequences(session)
    entries = await session.run_sync(search_index.rebuild)

    stored = await table_digests(session)
    for name, digest in stored.items():
        want = expected[name]
        if (digest.rows, digest.checksum) != (want["rows"], want["checksum"]):
            raise RestoreMismatch(
                f"after the restore {name} holds {digest.rows} rows that do not read back as "
                f"the dump's {want['rows']}: the database did not keep some values exactly"
            )
    chain = await audit.verify(session)
    if not chain.intact:
        raise RestoreMismatch(
            f"the restored audit chain is broken at entry {chain.first_broken_id}: {chain.problem}"
        )
    return DumpSummary(revision, stored, search_entries=entries, audit_entries=chain.entries)


async def restore_database(path: Path, engine: AsyncEngine | None = None) -> DumpSummary:
    """`nigran restore`: load the dump at `path` into an empty database, all or nothing."""
    try:
        with open_for_reading(path) as lines:
            async with session_factory(engine)() as session:
                await begin_write(session)
                try:
                    summary = await load_dump(session, lines)
                    await session.commit()
                except BaseException:
                    await session.rollback()
                    raise
    finally:
        if engine is None:
            await get_engine().dispose()
    return summary
