"""The dump format: which tables and columns, how values are written, and the checksums.

A dump is JSON Lines (UTF-8, optionally gzipped): one header line, then one line per row,
`{"table": ..., "row": {...}}`, tables in dependency order and rows in primary-key order. Every
row is written in one canonical form (keys sorted, no spaces, datetimes in UTC with offset), and
a table's checksum is the SHA-256 of its rows' canonical lines, so the same data gives the same
checksums whichever engine it is read from.
"""

import base64
import gzip
import hashlib
import io
import json
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    LargeBinary,
    Numeric,
    String,
    Table,
)
from sqlalchemy.types import TypeDecorator, TypeEngine

import app.models  # noqa: F401  (registers every table on the metadata)
from app.core.db import metadata
from app.core.errors import Conflict, InvalidInput
from app.search.models import SearchEntry

FORMAT = "nigran-dump"
VERSION = 1
GZIP_MAGIC = b"\x1f\x8b"

# Rebuilt from the other tables on restore, never dumped.
DERIVED_TABLES = frozenset({SearchEntry.__tablename__})
# Secrets are left out of the dump. Restore fills each with a random value that no key hashes
# to, so a restored key cannot sign in until reissued; random rather than a constant, so that
# nobody can derive a page session's key reference from it either.
WITHHELD_COLUMNS: dict[str, dict[str, Callable[[], str]]] = {
    "api_key": {"key_hash": lambda: f"withheld:{secrets.token_hex(24)}"},
}


class BackupRefused(InvalidInput):
    """A dump that cannot be restored, or a database that cannot take it."""

    title = "Backup refused"


class DumpInvalid(BackupRefused):
    """The file is not a Nigran dump, or it is damaged (truncated, edited)."""


class SchemaMismatch(BackupRefused):
    """The dump and the database are at different schema revisions."""


class TargetNotEmpty(Conflict):
    """Restore only fills an empty database."""


class RestoreMismatch(BackupRefused):
    """What the database holds after the restore is not what the dump holds."""


def dumped_tables() -> list[Table]:
    """Every data table, parents before children."""
    return [t for t in metadata.sorted_tables if t.name not in DERIVED_TABLES]


def dumped_columns(table: Table) -> list[Column[Any]]:
    withheld = WITHHELD_COLUMNS.get(table.name, {})
    return [c for c in table.columns if c.name not in withheld]


# Checked in this order: Float is a Numeric; JSON, dates and text have their own encodings.
_KINDS: list[tuple[type[TypeEngine[Any]], type]] = [
    (JSON, dict),
    (DateTime, datetime),
    (Date, date),
    (Boolean, bool),
    (Float, float),
    (Numeric, Decimal),
    (Integer, int),
    (LargeBinary, bytes),
    (String, str),
]


def value_kind(column: Column[Any]) -> type:
    """The Python type a column's values are written from (refuses a type it does not know,
    rather than guess)."""
    sql_type = column.type
    if isinstance(sql_type, TypeDecorator):
        sql_type = sql_type.impl_instance
    for kind_of, kind in _KINDS:
        if isinstance(sql_type, kind_of):
            return kind
    raise TypeError(f"{column.table.name}.{column.name}: no dump encoding for {sql_type!r}")


def _encode_datetime(value: datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def _same(value: Any) -> Any:
    return value


_ENCODERS: dict[type, Callable[[Any], Any]] = {
    datetime: _encode_datetime,
    date: date.isoformat,
    bytes: lambda v: base64.b64encode(v).decode("ascii"),
    Decimal: str,
    float: float,
    bool: bool,
    int: int,
}
_DECODERS: dict[type, Callable[[Any], Any]] = {
    datetime: datetime.fromisoformat,
    date: date.fromisoformat,
    bytes: base64.b64decode,
    Decimal: Decimal,
}


@dataclass(frozen=True)
class TableCodec:
    """Turns one table's database rows into dump rows and back."""

    table: Table
    encoders: dict[str, Callable[[Any], Any]]
    decoders: dict[str, Callable[[Any], Any]]
    withheld: dict[str, Callable[[], str]]

    @classmethod
    def of(cls, table: Table) -> "TableCodec":
        columns = dumped_columns(table)
        return cls(
            table=table,
            encoders={c.name: _ENCODERS.get(value_kind(c), _same) for c in columns},
            decoders={c.name: _DECODERS.get(value_kind(c), _same) for c in columns},
            withheld=WITHHELD_COLUMNS.get(table.name, {}),
        )

    def encode(self, row: Any) -> dict[str, Any]:
        """A database row (mapping) as plain JSON values."""
        return {
            name: None if row[name] is None else encode(row[name])
            for name, encode in self.encoders.items()
        }

    def decode(self, row: dict[str, Any]) -> dict[str, Any]:
        """A dump row as the values to insert, withheld columns filled afresh."""
        if set(row) != set(self.decoders):
            missing = sorted(set(self.decoders) - set(row))
            extra = sorted(set(row) - set(self.decoders))
            raise DumpInvalid(
                f"{self.table.name}: a row's columns do not match the schema "
                f"(missing {missing}, unexpected {extra})"
            )
        try:
            values = {
                name: None if row[name] is None else decode(row[name])
                for name, decode in self.decoders.items()
            }
        except (TypeError, ValueError) as exc:
            raise DumpInvalid(f"{self.table.name}: a value cannot be read: {exc}") from exc
        for name, fill in self.withheld.items():
            values[name] = fill()
        return values


def canonical(value: Any) -> str:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def row_line(table: str, row_text: str) -> str:
    """One dump line; `row_text` is the row's canonical encoding."""
    return f'{{"table":{json.dumps(table)},"row":{row_text}}}\n'


@dataclass
class TableDigest:
    """Running row count and checksum of one table's canonical rows."""

    rows: int = 0
    _hash: Any = field(default_factory=hashlib.sha256)

    def add(self, row_text: str) -> None:
        self.rows += 1
        self._hash.update(row_text.encode())
        self._hash.update(b"\n")

    @property
    def checksum(self) -> str:
        return self._hash.hexdigest()

    def summary(self) -> dict[str, Any]:
        return {"rows": self.rows, "checksum": self.checksum}


def header(
    *, schema_revision: str, created_at: datetime, engine: str, tables: dict[str, TableDigest]
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": VERSION,
        "schema_revision": schema_revision,
        "created_at": _encode_datetime(created_at),
        "engine": engine,
        "tables": {name: digest.summary() for name, digest in tables.items()},
        "withheld": {t: sorted(cols) for t, cols in WITHHELD_COLUMNS.items()},
        "derived": sorted(DERIVED_TABLES),
    }


def header_line(head: dict[str, Any]) -> str:
    """The header keeps its own key order: tables listed parents first, as the rows follow."""
    return json.dumps(head, separators=(",", ":"), ensure_ascii=False) + "\n"


def check_header(line: str | None) -> dict[str, Any]:
    try:
        head = json.loads(line) if line else None
    except json.JSONDecodeError:
        head = None
    if not isinstance(head, dict) or head.get("format") != FORMAT:
        raise DumpInvalid("not a Nigran dump (its first line is not a nigran-dump header)")
    if head.get("version") != VERSION:
        raise DumpInvalid(
            f"dump format version {head.get('version')!r}; this Nigran reads {VERSION}"
        )
    tables = head.get("tables")
    if not isinstance(head.get("schema_revision"), str) or not isinstance(tables, dict):
        raise DumpInvalid("the dump header has no schema_revision or tables")
    for name, summary in tables.items():
        if not (
            isinstance(summary, dict)
            and isinstance(summary.get("rows"), int)
            and isinstance(summary.get("checksum"), str)
        ):
            raise DumpInvalid(f"the dump header's entry for {name!r} has no rows and checksum")
    return head


def parse_row(line: str, number: int) -> tuple[str, dict[str, Any]]:
    try:
        parsed = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DumpInvalid(f"line {number} is not valid JSON (truncated file?): {exc}") from exc
    if (
        not isinstance(parsed, dict)
        or not isinstance(parsed.get("table"), str)
        or not isinstance(parsed.get("row"), dict)
    ):
        raise DumpInvalid(f"line {number} is not a {{'table': ..., 'row': {{...}}}} line")
    return parsed["table"], parsed["row"]


@contextmanager
def open_for_reading(path: Path) -> Iterator[IO[str]]:
    """The dump as text lines, gunzipped if it is gzip (by its content, not its name)."""
    with path.open("rb") as raw:
        gzipped = raw.read(2) == GZIP_MAGIC
    if gzipped:
        with gzip.open(path, "rt", encoding="utf-8", newline="\n") as text:
            yield text
    else:
        with path.open("r", encoding="utf-8", newline="\n") as text:
            yield text


@contextmanager
def open_for_writing(path: Path) -> Iterator[IO[str]]:
    """Write to `path` (gzip if it ends in .gz) through a temporary name, so a failed export
    never leaves a partial file that looks whole."""
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("wb") as raw:
            binary: IO[bytes] = (
                gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) if path.name.endswith(".gz") else raw
            )
            with io.TextIOWrapper(binary, encoding="utf-8", newline="\n") as text:
                yield text
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
