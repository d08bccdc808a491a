"""Importing incident records: ACLED exports, Nigran's own CSV, and ACLED's deletion lists.

An import is all or nothing: every row is checked first, and one bad row rejects the whole file
with a list of every problem (line, field, reason) before anything is written. Importing the same
file twice changes nothing; a revised export (same id, new content) updates the record in place and
keeps what it held before in `incident_revision`; records are only ever deleted by an explicit
deletion list. Names are mapped to the service's places and groups through the alias tables; a
name they do not know is kept as written and reported as unmapped, never dropped or guessed.
"""

import csv
import functools
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from anyio import to_thread
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit import service as audit
from app.core.bulk import insert_many, paused_gc
from app.core.errors import InvalidInput
from app.core.time import utcnow
from app.incidents.aliases import AliasTables, load_alias_tables
from app.incidents.models import IncidentImport, IncidentRecord, IncidentRevision

BATCH = 2_000
PROGRESS_STEP = 10_000  # rows added between progress reports
WHOLE_DATASET_READ = 5_000
_IMPORT_LOCK = 724_002  # arbitrary constant naming the incident import's advisory lock
Progress = Callable[[int], None]


class ImportFormat(StrEnum):
    ACLED = "acled"
    NIGRAN = "nigran"
    ACLED_DELETIONS = "acled-deletions"


# ACLED's actor codes (inter1/inter2): older exports give the number, newer ones the label.
ACLED_ACTOR_TYPES = {
    "1": "State forces",
    "2": "Rebel group",
    "3": "Political militia",
    "4": "Identity militia",
    "5": "Rioters",
    "6": "Protesters",
    "7": "Civilians",
    "8": "External/Other forces",
}
ARMED_NON_STATE = {"Rebel group", "Political militia", "Identity militia"}
ACLED_PRECISION = {"1": "day", "2": "week", "3": "month"}
ACLED_REQUIRED = ("event_id_cnty", "event_date", "fatalities")
NIGRAN_COLUMNS = (
    "id",
    "date",
    "date_precision",
    "region",
    "district",
    "location",
    "group",
    "target",
    "event_type",
    "tactic",
    "killed",
    "injured",
    "latitude",
    "longitude",
    "source",
    "notes",
    "revised",
)
NIGRAN_REQUIRED = ("id", "date")
PRECISIONS = ("day", "week", "month", "year")
# The fields a revision compares and keeps.
CONTENT_FIELDS = (
    "event_date",
    "date_precision",
    "region",
    "district",
    "location",
    "group_name",
    "actors",
    "target",
    "event_type",
    "tactic",
    "killed",
    "injured",
    "latitude",
    "longitude",
    "source",
    "notes",
)


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    reason: str


class ImportRejected(InvalidInput):
    """The file is refused whole; `errors` lists every bad row."""


@dataclass
class ImportReport:
    id: int
    file_name: str
    checksum: str
    format: str
    dataset: str
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    not_found: int = 0
    skipped: int = 0
    skipped_reasons: dict[str, int] = field(default_factory=dict)
    unmapped: dict[str, list[str]] = field(default_factory=dict)
    actor: str = ""
    created_at: datetime | None = None


@dataclass
class _Parsed:
    """What one valid row becomes, before names are mapped."""

    line: int
    origin_id: str
    event_date: date
    date_precision: str
    region: str | None
    district: str | None
    location: str | None
    sides: list[tuple[list[str], str | None]]  # (actor names, actor type) for each side
    group: str | None
    target: str | None
    event_type: str | None
    tactic: str | None
    killed: int | None
    injured: int | None
    latitude: float | None
    longitude: float | None
    source: str | None
    notes: str | None
    timestamp: int | None


class _RowChecker:
    """Collects every problem of a row instead of stopping at the first."""

    def __init__(self, line: int, row: dict[str, str | None], errors: list[RowError]):
        self.line, self.row, self.errors = line, row, errors
        self.failed = False

    def text(self, name: str, *, required: bool = False, max_length: int = 200) -> str | None:
        value = (self.row.get(name) or "").strip()
        if not value:
            if required:
                self.fail(name, "is required")
            return None
        if len(value) > max_length:
            self.fail(name, f"is longer than {max_length} characters")
            return None
        return value

    def integer(
        self, name: str, *, required: bool = False, minimum: int = 0, maximum: int = 1_000_000
    ) -> int | None:
        value = self.text(name, required=required)
        if value is None:
            return None
        try:
            number = int(float(value)) if value.endswith(".0") else int(value)
        except ValueError:
            self.fail(name, f"{value!r} is not a whole number")
            return None
        if not minimum <= number <= maximum:
            self.fail(name, f"{number} is outside {minimum} to {maximum}")
            return None
        return number

    def number(self, name: str, low: float, high: float) -> float | None:
        value = self.text(name)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            self.fail(name, f"{value!r} is not a number")
            return None
        if not low <= number <= high:
            self.fail(name, f"{number} is outside {low} to {high}")
            return None
        return number

    def date(self, name: str) -> date | None:
        value = self.text(name, required=True)
        if value is None:
            return None
        day = _iso_date(value)
        for pattern in ("%d %B %Y", "%d-%B-%Y", "%d %b %Y"):
            if day is not None:
                break
            try:
                day = datetime.strptime(value, pattern).date()
            except ValueError:
                continue
        if day is not None:
            if not 1900 <= day.year <= 2100:
                self.fail(name, f"{value!r} is outside the years 1900 to 2100")
                return None
            return day
        self.fail(name, f"{value!r} is not a date (YYYY-MM-DD)")
        return None

    def fail(self, name: str, reason: str) -> None:
        self.failed = True
        self.errors.append(RowError(self.line, name, reason))


def _iso_date(value: str) -> date | None:
    """YYYY-MM-DD, the usual form, parsed without strptime's cost."""
    if len(value) != 10 or value[4] != "-" or value[7] != "-":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _names(value: str | None) -> list[str]:
    """ACLED packs several associated actors into one cell, separated by semicolons."""
    if not value:
        return []
    return [n for n in (part.strip() for part in value.split(";")) if n]


def _actor_type(value: str | None) -> str | None:
    if not value:
        return None
    return ACLED_ACTOR_TYPES.get(value.strip(), value.strip())


def _parse_acled(check: _RowChecker, skipped: dict[str, int]) -> _Parsed | None:
    country = check.text("country")
    origin_id = check.text("event_id_cnty", required=True, max_length=80)
    event_date = check.date("event_date")
    year = check.integer("year", minimum=1900, maximum=2100)
    if year is not None and event_date is not None and year != event_date.year:
        check.fail("year", f"{year} does not match event_date {event_date.isoformat()}")
    precision_code = check.text("time_precision")
    if precision_code is not None and precision_code not in ACLED_PRECISION:
        check.fail("time_precision", f"{precision_code!r} is not 1, 2 or 3")
    killed = check.integer("fatalities", required=True)
    latitude = check.number("latitude", -90, 90)
    longitude = check.number("longitude", -180, 180)
    timestamp = check.integer("timestamp", maximum=2**62)
    sides = [
        (
            [n for n in (check.text(f"actor{n}"), *_names(check.row.get(f"assoc_actor_{n}"))) if n],
            _actor_type(check.text(f"inter{n}", max_length=60)),
        )
        for n in (1, 2)
    ]
    if check.failed:
        return None
    if country and country.casefold() != "pakistan":
        skipped[f"country {country}"] = skipped.get(f"country {country}", 0) + 1
        return None
    civilians = bool(check.text("civilian_targeting"))
    return _Parsed(
        line=check.line,
        origin_id=origin_id,  # type: ignore[arg-type]
        event_date=event_date,  # type: ignore[arg-type]
        date_precision=ACLED_PRECISION.get(precision_code or "1", "day"),
        region=check.text("admin1", max_length=120),
        district=check.text("admin2", max_length=120),
        location=check.text("location"),
        sides=sides,
        group=None,
        target="Civilians" if civilians else None,
        event_type=check.text("event_type", max_length=120),
        tactic=check.text("sub_event_type", max_length=120),
        killed=killed,
        injured=None,
        latitude=latitude,
        longitude=longitude,
        source=check.text("source", max_length=2000),
        notes=check.text("notes", max_length=10_000),
        timestamp=timestamp,
    )


def _parse_nigran(check: _RowChecker, skipped: dict[str, int]) -> _Parsed | None:
    origin_id = check.text("id", required=True, max_length=80)
    event_date = check.date("date")
    precision = check.text("date_precision") or "day"
    if precision not in PRECISIONS:
        check.fail("date_precision", f"{precision!r} is not one of {', '.join(PRECISIONS)}")
    parsed = _Parsed(
        line=check.line,
        origin_id=origin_id,  # type: ignore[arg-type]
        event_date=event_date,  # type: ignore[arg-type]
        date_precision=precision,
        region=check.text("region", max_length=120),
        district=check.text("district", max_length=120),
        location=check.text("location"),
        sides=[],
        group=check.text("group"),
        target=check.text("target", max_length=120),
        event_type=check.text("event_type", max_length=120),
        tactic=check.text("tactic", max_length=120),
        killed=check.integer("killed"),
        injured=check.integer("injured"),
        latitude=check.number("latitude", -90, 90),
        longitude=check.number("longitude", -180, 180),
        source=check.text("source", max_length=2000),
        notes=check.text("notes", max_length=10_000),
        timestamp=check.integer("revised", maximum=2**62),
    )
    return None if check.failed else parsed


def _reader(content: bytes) -> "csv.DictReader[str]":
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRejected(
            "the file is not UTF-8 text",
            errors=[{"line": 0, "field": "", "reason": f"not UTF-8: {exc.reason}"}],
        ) from exc
    return csv.DictReader(io.StringIO(text, newline=""))


def _refuse(errors: list[RowError], rows: int) -> ImportRejected:
    return ImportRejected(
        f"{len(errors)} problem(s) in the file; nothing was imported",
        errors=[e.__dict__ for e in errors],
        rows=rows,
        rejected=len({e.line for e in errors}),
    )


def _rows(
    reader: "csv.DictReader[str]", errors: list[RowError]
) -> Iterator[tuple[int, dict[str, str | None]]]:
    """(first line, row) for each record; a quoted cell may span several lines."""
    try:
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            if None in row:
                errors.append(RowError(line, "", "the row has more cells than the header"))
                continue
            yield line, row
    except csv.Error as exc:
        errors.append(RowError(reader.line_num, "", f"unreadable CSV: {exc}"))


def _header(reader: "csv.DictReader[str]", required: tuple[str, ...]) -> None:
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in required if c not in header]
    if missing:
        raise _refuse([RowError(1, c, "required column is missing") for c in missing], 0)


def parse_rows(
    content: bytes, fmt: ImportFormat, skipped: dict[str, int]
) -> tuple[list[_Parsed], int]:
    """Every valid row, or ImportRejected listing every problem in the file."""
    reader = _reader(content)
    required = ACLED_REQUIRED if fmt == ImportFormat.ACLED else NIGRAN_REQUIRED
    _header(reader, required)
    parse = _parse_acled if fmt == ImportFormat.ACLED else _parse_nigran
    errors: list[RowError] = []
    parsed: list[_Parsed] = []
    first_line: dict[str, int] = {}
    rows = 0
    for line, row in _rows(reader, errors):
        rows += 1
        item = parse(_RowChecker(line, row, errors), skipped)
        if item is None:
            continue
        if item.origin_id in first_line:
            repeat = f"repeats the id of line {first_line[item.origin_id]}"
            errors.append(RowError(line, required[0], repeat))
            continue
        first_line[item.origin_id] = line
        parsed.append(item)
    if errors:
        raise _refuse(errors, rows)
    if rows == 0:
        raise _refuse([RowError(2, "", "the file has a header but no rows")], 0)
    return parsed, rows


class _Mapper:
    """Maps the origin's names to the service's own and remembers what it could not map."""

    def __init__(self, aliases: AliasTables):
        # An export repeats a few hundred names thousands of times: look each up once.
        self._place = functools.cache(aliases.place)
        self._group = functools.cache(aliases.group)
        self.unmapped: dict[str, set[str]] = {"region": set(), "district": set(), "group": set()}

    def place(self, kind: str, name: str | None) -> tuple[str | None, bool]:
        if name is None:
            return None, False
        found = self._place(name)
        if found is None:
            self.unmapped[kind].add(name)
        return found or name, found is not None

    def group_and_target(self, parsed: _Parsed) -> tuple[str | None, bool, str | None]:
        if not parsed.sides:
            if parsed.group is None:
                return None, False, parsed.target
            found = self._group(parsed.group)
            if found is None:
                self.unmapped["group"].add(parsed.group)
            return found or parsed.group, found is not None, parsed.target
        for index, (names, _) in enumerate(parsed.sides):
            for name in names:
                found = self._group(name)
                if found:
                    return found, True, parsed.target or self._other_side(parsed, index)
        armed = [
            (index, name)
            for index, (names, kind) in enumerate(parsed.sides)
            if kind in ARMED_NON_STATE
            for name in names
        ]
        for _, name in armed:
            self.unmapped["group"].add(name)
        if armed:
            index, name = armed[0]
            return name, False, parsed.target or self._other_side(parsed, index)
        return None, False, parsed.target

    @staticmethod
    def _other_side(parsed: _Parsed, index: int) -> str | None:
        other = parsed.sides[1 - index] if len(parsed.sides) == 2 else ([], None)
        return other[1] if other[0] else None

    def report(self) -> dict[str, list[str]]:
        return {k: sorted(v) for k, v in self.unmapped.items() if v}


def _content_hash(values: dict[str, Any]) -> str:
    """A fingerprint of what a record says; repr of dates, numbers, strings and lists is stable."""
    return hashlib.sha256(repr([values[f] for f in CONTENT_FIELDS]).encode()).hexdigest()


def _record_values(parsed: _Parsed, mapper: _Mapper) -> dict[str, Any]:
    region, region_mapped = mapper.place("region", parsed.region)
    district, district_mapped = mapper.place("district", parsed.district)
    group, group_mapped, target = mapper.group_and_target(parsed)
    values: dict[str, Any] = {
        "origin_id": parsed.origin_id,
        "event_date": parsed.event_date,
        "date_precision": parsed.date_precision,
        "region": region,
        "region_mapped": region_mapped,
        "district": district,
        "district_mapped": district_mapped,
        "location": parsed.location,
        "group_name": group[:200] if group else None,
        "group_mapped": group_mapped,
        "actors": [n for names, _ in parsed.sides for n in names],
        "target": target,
        "event_type": parsed.event_type,
        "tactic": parsed.tactic,
        "killed": parsed.killed,
        "injured": parsed.injured,
        "latitude": parsed.latitude,
        "longitude": parsed.longitude,
        "source": parsed.source,
        "notes": parsed.notes,
        "origin_timestamp": parsed.timestamp,
    }
    values["content_hash"] = _content_hash(values)
    return values


def _prepare(
    content: bytes, fmt: ImportFormat, skipped: dict[str, int], mapper: _Mapper
) -> tuple[list[dict[str, Any]], int]:
    parsed, rows = parse_rows(content, fmt, skipped)
    return [_record_values(p, mapper) for p in parsed], rows


def _chunks(values: list[Any], size: int = BATCH) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def _existing(
    session: AsyncSession, dataset: str, origin_ids: Iterable[str]
) -> dict[str, tuple[int, str, int | None]]:
    """What the data set already holds for these ids: (record id, content hash, timestamp).

    A large file reads the data set in one pass instead of thousands of IN lookups: right after
    a big insert PostgreSQL's statistics still describe an empty table, and its plan for the
    lookups becomes a sequential scan per batch (minutes for 100,000 rows)."""
    wanted = list(dict.fromkeys(origin_ids))
    columns = (
        IncidentRecord.origin_id,
        IncidentRecord.id,
        IncidentRecord.content_hash,
        IncidentRecord.origin_timestamp,
    )
    base = select(*columns).where(IncidentRecord.dataset == dataset)
    if len(wanted) > WHOLE_DATASET_READ:
        keep = set(wanted)
        rows = await session.execute(base)
        return {o: (i, h, t) for o, i, h, t in rows if o in keep}
    found: dict[str, tuple[int, str, int | None]] = {}
    for chunk in _chunks(wanted):
        for origin_id, record_id, content_hash, timestamp in await session.execute(
            base.where(IncidentRecord.origin_id.in_(chunk))
        ):
            found[origin_id] = (record_id, content_hash, timestamp)
    return found


async def _refresh_statistics(session: AsyncSession, added: int) -> None:
    """After a large insert, let PostgreSQL's planner know the table grew (trends read it)."""
    if added >= WHOLE_DATASET_READ and session.get_bind().dialect.name == "postgresql":
        await session.execute(text("ANALYZE incident_record"))


async def _lock_imports(session: AsyncSession) -> None:
    """One import at a time: two runs of one file must not both see its ids as new.

    SQLite write transactions are exclusive already; PostgreSQL takes an advisory lock."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _IMPORT_LOCK})


async def _start_run(
    session: AsyncSession, *, file_name: str, checksum: str, fmt: str, dataset: str, actor: str
) -> IncidentImport:
    run = IncidentImport(
        file_name=file_name[:255], checksum=checksum, format=fmt, dataset=dataset, actor=actor
    )
    session.add(run)
    await session.flush()
    return run


async def import_incidents(
    session: AsyncSession,
    content: bytes,
    *,
    fmt: ImportFormat,
    dataset: str | None,
    file_name: str,
    actor: str,
    progress: Progress | None = None,
) -> ImportReport:
    """Check the whole file, then write it in one transaction (the caller commits)."""
    dataset = dataset or (ImportFormat.ACLED if fmt == ImportFormat.ACLED_DELETIONS else fmt)
    checksum = hashlib.sha256(content).hexdigest()
    if fmt == ImportFormat.ACLED_DELETIONS:
        return await _delete_listed(
            session, content, dataset=dataset, file_name=file_name, checksum=checksum, actor=actor
        )
    with paused_gc():
        return await _import_records(
            session,
            content,
            fmt=fmt,
            dataset=dataset,
            file_name=file_name,
            checksum=checksum,
            actor=actor,
            progress=progress,
        )


async def _import_records(
    session: AsyncSession,
    content: bytes,
    *,
    fmt: ImportFormat,
    dataset: str,
    file_name: str,
    checksum: str,
    actor: str,
    progress: Progress | None,
) -> ImportReport:
    skipped: dict[str, int] = {}
    mapper = _Mapper(await load_alias_tables(session))
    # Checking and mapping 100,000 rows is a second of CPU: off the event loop, so other
    # requests keep being served meanwhile.
    incoming, rows = await to_thread.run_sync(_prepare, content, fmt, skipped, mapper)
    run = await _start_run(
        session, file_name=file_name, checksum=checksum, fmt=fmt, dataset=dataset, actor=actor
    )
    report = ImportReport(
        id=run.id,  # type: ignore[arg-type]
        file_name=run.file_name,
        checksum=checksum,
        format=fmt,
        dataset=dataset,
        rows=rows,
        skipped_reasons=skipped,
        actor=actor,
        created_at=run.created_at,
    )
    await _lock_imports(session)
    existing = await _existing(session, dataset, (v["origin_id"] for v in incoming))
    now = utcnow()
    additions: list[dict[str, Any]] = []
    revisions: dict[int, dict[str, Any]] = {}
    for values in incoming:
        known = existing.get(values["origin_id"])
        if known is None:
            additions.append({**values, "dataset": dataset, "import_id": run.id, "updated_at": now})
        elif known[1] == values["content_hash"]:
            report.unchanged += 1
        elif (
            known[2] is not None
            and values["origin_timestamp"] is not None
            and (values["origin_timestamp"] < known[2])
        ):
            skipped["older than the stored version"] = (
                skipped.get("older than the stored version", 0) + 1
            )
        else:
            revisions[known[0]] = values
    done = report.unchanged
    for chunk in _chunks(additions, PROGRESS_STEP):
        await insert_many(session, IncidentRecord.__table__, chunk)  # type: ignore[arg-type]
        done += len(chunk)
        if progress:
            progress(done)
    await _revise(session, revisions, run.id, now)  # type: ignore[arg-type]
    await _refresh_statistics(session, len(additions) + len(revisions))
    report.added, report.updated = len(additions), len(revisions)
    report.skipped = sum(skipped.values())
    report.unmapped = mapper.report()
    if progress:
        progress(rows)
    await _finish(session, run, report)
    return report


async def _revise(
    session: AsyncSession, revisions: dict[int, dict[str, Any]], import_id: int, now: datetime
) -> None:
    """Update changed records in place, keeping the values they held before."""
    columns = [getattr(IncidentRecord, f) for f in (*CONTENT_FIELDS, "origin_timestamp")]
    for chunk in _chunks(list(revisions)):
        before = await session.execute(
            select(IncidentRecord.id, *columns).where(IncidentRecord.id.in_(chunk))
        )
        history = []
        for row in before:
            previous = {f: v for f, v in row._mapping.items() if f != "id"}
            previous["event_date"] = previous["event_date"].isoformat()
            history.append(
                {
                    "record_id": row.id,
                    "import_id": import_id,
                    "previous": previous,
                    "replaced_at": now,
                }
            )
        await session.execute(insert(IncidentRevision), history)
        await session.execute(
            update(IncidentRecord),
            [
                {**revisions[record_id], "id": record_id, "import_id": import_id, "updated_at": now}
                for record_id in chunk
            ],
        )


async def _delete_listed(
    session: AsyncSession,
    content: bytes,
    *,
    dataset: str,
    file_name: str,
    checksum: str,
    actor: str,
) -> ImportReport:
    reader = _reader(content)
    _header(reader, ("event_id_cnty",))
    errors: list[RowError] = []
    ids: list[str] = []
    rows = 0
    for line, row in _rows(reader, errors):
        rows += 1
        value = (row.get("event_id_cnty") or "").strip()
        if not value:
            errors.append(RowError(line, "event_id_cnty", "is required"))
        elif len(value) > 80:
            errors.append(RowError(line, "event_id_cnty", "is longer than 80 characters"))
        else:
            ids.append(value)
    if not errors and rows == 0:
        errors.append(RowError(2, "", "the file has a header but no rows"))
    if errors:
        raise _refuse(errors, rows)
    await _lock_imports(session)
    unique = list(dict.fromkeys(ids))
    existing = await _existing(session, dataset, unique)
    run = await _start_run(
        session,
        file_name=file_name,
        checksum=checksum,
        fmt=ImportFormat.ACLED_DELETIONS,
        dataset=dataset,
        actor=actor,
    )
    record_ids = [existing[i][0] for i in unique if i in existing]
    for chunk in _chunks(record_ids):
        await session.execute(delete(IncidentRevision).where(IncidentRevision.record_id.in_(chunk)))
        await session.execute(delete(IncidentRecord).where(IncidentRecord.id.in_(chunk)))
    report = ImportReport(
        id=run.id,  # type: ignore[arg-type]
        file_name=run.file_name,
        checksum=checksum,
        format=ImportFormat.ACLED_DELETIONS,
        dataset=dataset,
        rows=len(ids),
        deleted=len(record_ids),
        not_found=len(unique) - len(record_ids),
        actor=actor,
        created_at=run.created_at,
    )
    await _finish(session, run, report)
    return report


async def _finish(session: AsyncSession, run: IncidentImport, report: ImportReport) -> None:
    run.rows, run.added, run.updated = report.rows, report.added, report.updated
    run.unchanged, run.deleted, run.skipped = report.unchanged, report.deleted, report.skipped
    run.unmapped, run.not_found = report.unmapped, report.not_found
    run.skipped_reasons = report.skipped_reasons
    await session.flush()
    await audit.append(
        session,
        actor=report.actor,
        action="incidents.import",
        target_type="incident_import",
        target=str(run.id),
        details={
            "file_name": report.file_name,
            "checksum": report.checksum,
            "format": report.format,
            "dataset": report.dataset,
            "rows": report.rows,
            "added": report.added,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "deleted": report.deleted,
            "not_found": report.not_found,
            "skipped": report.skipped,
            "unmapped": sum(len(v) for v in report.unmapped.values()),
        },
    )
