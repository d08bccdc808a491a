"""Seeded SQLite databases with a long status history, built once and cached.

The summary must not slow down as the history grows, so it is measured on a copy of the seeded
database grown to 10,000 and to 1,000,000 status updates. Inserting a million rows takes a
while, so the files are kept under benchmarks/.data/<key>/, where the key is a digest of what
they are made from (migrations, seed code and data, this generator): a rerun with the same code
reuses them, a change rebuilds them, and older keys are deleted.

    python -m benchmarks.history [--sizes 10000 1000000]   # build (or find) them, print paths
"""

import argparse
import hashlib
import random
import shutil
import sqlite3
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import create_engine, event, func, insert, select

from app.core.time import utcnow
from app.policies.models import PolicyItem
from app.tracking.models import StatusUpdate
from benchmarks.imports import PROJECT_ROOT, _nigran

DATA = Path(__file__).with_name(".data")
SEED = "seed.db"
SIZES = (10_000, 1_000_000)
BATCH = 50_000
# What a seeded database is made of; app/ as a whole moves too often to key a 1M-row build on.
SOURCES = ("migrations", "policy_data", "app/seed", "benchmarks/history.py")


def cache_key() -> str:
    """A digest of every file the cached databases are built from."""
    digest = hashlib.sha256()
    for source in SOURCES:
        root = PROJECT_ROOT / source
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" in path.parts:
                continue
            digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def seeded() -> Path:
    """The migrated, seeded database (`nigran db upgrade` + `nigran seed`), built if missing.

    Never served itself: callers copy it, since a server writes (WAL, chat turns)."""
    folder = _folder()
    path = folder / SEED
    if not path.exists():
        print(f"building {path}: nigran db upgrade, nigran seed", flush=True)
        partial = folder / "seed.partial.db"
        partial.unlink(missing_ok=True)
        url = f"sqlite+aiosqlite:///{partial}"
        _nigran(url, "db", "upgrade")
        _nigran(url, "seed")
        _checkpoint(partial)
        partial.rename(path)
    return path


def grown(size: int) -> Path:
    """The seeded database with `size` status updates in all, built from seeded() if missing."""
    path = _folder() / f"history-{size}.db"
    if not path.exists():
        print(f"building {path}: {size:,} status updates", flush=True)
        started = time.perf_counter()
        partial = path.with_suffix(".partial.db")
        shutil.copyfile(seeded(), partial)
        grow_history(partial, size)
        partial.rename(path)
        print(f"built {path.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def copy(source: Path, folder: Path) -> Path:
    """A private copy of a cached database for one server."""
    target = folder / source.name
    shutil.copyfile(source, target)
    return target


def grow_history(path: Path, target: int) -> None:
    """Append approved status updates, spread over the items and ten years, until the history
    holds `target` rows; then ANALYZE, so the planner sees the new sizes.

    Bulk settings for the build only (synchronous=OFF: a crash just means a rebuild); the
    file is left in WAL mode, as Nigran runs it."""
    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _bulk(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=OFF")
        dbapi_connection.execute("PRAGMA cache_size=-200000")

    with engine.begin() as conn:
        ids = list(conn.scalars(select(PolicyItem.id)))
        have = conn.scalar(select(func.count()).select_from(StatusUpdate)) or 0
        for rows in _history_rows(ids, target - have):
            conn.execute(insert(StatusUpdate), rows)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    _checkpoint(path)


def _history_rows(ids: list[int], count: int) -> Iterator[list[dict[str, object]]]:
    """`count` rows in batches, from a fixed seed so every build holds the same history."""
    rng, now = random.Random(7), utcnow()
    statuses = ["in_progress", "partially_implemented", "implemented", "stalled"]
    while count > 0:
        rows: list[dict[str, object]] = [
            {
                "item_id": rng.choice(ids),
                "status": rng.choice(statuses),
                "note": "benchmark history",
                "evidence": [],
                "author": "bench",
                "effective_date": date(2015, 1, 1) + timedelta(days=rng.randrange(3650)),
                "effective_precision": "day",
                "recorded_at": now,
                "review_state": "approved",
                "reviewed_at": now,
                "origin": "bench",
            }
            for _ in range(min(BATCH, count))
        ]
        count -= len(rows)
        yield rows


def _checkpoint(path: Path) -> None:
    """Fold the WAL into the file, so a plain file copy carries everything."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def _folder() -> Path:
    """This key's folder, older keys' folders removed (a 1M-row file is a few hundred MB)."""
    key = cache_key()
    DATA.mkdir(exist_ok=True)
    for old in DATA.iterdir():
        if old.is_dir() and old.name != key:
            shutil.rmtree(old, ignore_errors=True)
    folder = DATA / key
    folder.mkdir(exist_ok=True)
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    for size in parser.parse_args().sizes:
        print(grown(size))


if __name__ == "__main__":
    main()
