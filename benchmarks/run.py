"""Summary speed against a bare endpoint, as the status history grows.

Every figure is a ratio to a reference measured in the same run (these machines are shared
and noisy): the bare FastAPI endpoint's rate, and the naive "latest update per item" SQL the
summary avoids. Writes benchmarks/RESULTS.md.

    python -m benchmarks.run [--sizes 10000 100000 1000000] [--seconds 3]
"""

import argparse
import asyncio
import platform
import random
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import func, insert, select, text

from app.core.config import get_settings
from app.core.db import get_sessionmaker, make_engine, session_factory
from app.core.time import utcnow
from app.main import create_app
from app.policies.models import PolicyItem
from app.reports import service as reports
from app.seed.service import seed_database
from app.tracking.models import StatusUpdate
from benchmarks.imports import IMPORTS_END, IMPORTS_START
from tests.databases import migrate

RESULTS = Path(__file__).with_name("RESULTS.md")
NAIVE_LATEST = """
SELECT su.item_id, su.status FROM status_update su
JOIN (SELECT item_id, MAX(effective_date) AS latest FROM status_update
      WHERE review_state = 'approved' GROUP BY item_id) last
  ON last.item_id = su.item_id AND last.latest = su.effective_date
WHERE su.review_state = 'approved'
"""


async def _rate(call, seconds: float) -> float:  # type: ignore[no-untyped-def]
    for _ in range(20):
        await call()
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        await call()
        done += 1
    return done / elapsed


async def _grow_history(url: str, target: int) -> None:
    engine = make_engine(url)
    async with session_factory(engine)() as session:
        ids = list(await session.scalars(select(PolicyItem.id)))
        have = await session.scalar(select(func.count()).select_from(StatusUpdate)) or 0
        rng, now, batch = random.Random(7), utcnow(), 20_000
        statuses = ["in_progress", "partially_implemented", "implemented", "stalled"]
        while have < target:
            rows = [
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
                for _ in range(min(batch, target - have))
            ]
            await session.execute(insert(StatusUpdate), rows)
            await session.commit()
            have += len(rows)
    async with engine.connect() as conn:
        # Bulk loading leaves a long WAL behind; a running server checkpoints as it goes.
        await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    await engine.dispose()


async def measure(url: str, seconds: float) -> dict[str, float]:
    engine = make_engine(url)
    app: FastAPI = create_app()
    app.dependency_overrides[get_sessionmaker] = lambda: session_factory(engine)

    @app.get("/bench/bare")
    async def bare() -> dict[str, bool]:
        return {"ok": True}

    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://bench") as client:

        async def get(path: str):  # type: ignore[no-untyped-def]
            response = await client.get(path)
            assert response.status_code == 200, response.text

        async def uncached(as_of: date | None = None) -> None:
            async with session_factory(engine)() as session:
                await reports._compute(session, as_of=as_of, since=None, stale_days=365)

        async def naive() -> None:
            async with engine.connect() as conn:
                (await conn.execute(text(NAIVE_LATEST))).all()

        figures = {
            "bare endpoint": await _rate(lambda: get("/bench/bare"), seconds),
            "summary": await _rate(lambda: get("/api/v1/summary"), seconds),
            "summary, uncached (service call)": await _rate(uncached, seconds),
            "summary as_of 2020-06-01 (uncached)": await _rate(
                lambda: uncached(date(2020, 6, 1)), seconds
            ),
            "naive latest-per-item SQL alone": await _rate(naive, seconds),
        }
    await engine.dispose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="nigran-bench-"))
    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    migrate(url)

    async def seed() -> None:
        engine = make_engine(url)
        await seed_database(get_settings().policy_data_dir, engine)
        await engine.dispose()

    asyncio.run(seed())
    table: list[tuple[int, dict[str, float]]] = []
    for size in sorted(args.sizes):
        asyncio.run(_grow_history(url, size))
        figures = asyncio.run(measure(url, args.seconds))
        table.append((size, figures))
        bare = figures["bare endpoint"]
        print(
            f"history {size:>9,}: "
            + ", ".join(f"{k} {v:,.0f}/s ({v / bare:.2f}x bare)" for k, v in figures.items())
        )
    write_results(table, args.seconds)


def write_results(table: list[tuple[int, dict[str, float]]], seconds: float) -> None:
    names = list(table[0][1])
    lines = [
        "# Benchmark results",
        "",
        f"`make bench` on {platform.machine()}, Python {platform.python_version()}, SQLite, one process, "
        f"requests in sequence through ASGI for {seconds:g} s each. Rates are requests (or calls) per "
        "second; every rate is also given as a ratio to the bare FastAPI endpoint measured in the same "
        "run, since these machines are shared and noisy.",
        "",
        "| status updates in history | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for size, figures in table:
        bare = figures["bare endpoint"]
        cells = [f"{v:,.0f}/s ({v / bare:.2f}x)" for v in figures.values()]
        lines.append(f"| {size:,} | " + " | ".join(cells) + " |")
    first, last = table[0][1], table[-1][1]
    lines += [
        "",
        "Reading it:",
        "- The summary reads items' denormalized status, never the history, and is cached per "
        "change of the audit chain; its ratio to the bare endpoint should stay flat as history grows.",
        "- Uncached, it still reads only items: flat too "
        f"({first['summary, uncached (service call)']:,.0f}/s at {table[0][0]:,} vs "
        f"{last['summary, uncached (service call)']:,.0f}/s at {table[-1][0]:,} updates).",
        "- `as_of` finds each item's latest approved update on that date with two index seeks per "
        "item (ix_status_update_item_latest): it follows the number of items, not of updates.",
        "- The naive group-wise 'latest update per item' SQL is the reference the issue names.",
        "",
    ]
    text = "\n".join(lines)
    # The imports section belongs to benchmarks/imports.py: keep it as it is.
    previous = RESULTS.read_text() if RESULTS.exists() else ""
    start, end = previous.find(IMPORTS_START), previous.find(IMPORTS_END)
    if start != -1 and end > start:
        text += "\n" + previous[start : end + len(IMPORTS_END)] + "\n"
    RESULTS.write_text(text)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
