"""ACLED import speed over real HTTP, on SQLite and on PostgreSQL.

For each engine and each run: a fresh database (migrated, seeded, with a reviewer key), a real
uvicorn server on it, and three imports of generated ACLED rows through
`POST /api/v1/incidents/import?format=acled`:

- new: every row is new (added = rows);
- same again: the same file re-imported, the idempotent path (unchanged = rows);
- revised: 10% of the rows carry a newer timestamp and other fatalities (updated = rows / 10).

Every response's counts are checked, so a failed request is never measured. The machines are
shared and noisy, so each figure is also given as a ratio to a reference measured in the same run:
the time this process takes to read the same CSV with `csv.DictReader`. The medians go into the
imports section of benchmarks/RESULTS.md (between the `imports:start`/`imports:end` markers).

    python -m benchmarks.imports [--rows 100000] [--runs 3] [--engines sqlite postgresql]
"""

import argparse
import asyncio
import csv
import gc
import hashlib
import io
import os
import platform
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from tests.incidents.acled import generate

RESULTS = Path(__file__).with_name("RESULTS.md")
IMPORTS_START = "<!-- imports:start -->"
IMPORTS_END = "<!-- imports:end -->"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
ENGINE_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
SCENARIOS = ("new", "same again", "revised")
REQUEST_TIMEOUT = 300.0
STARTUP_TIMEOUT = 60.0


class BenchmarkFailed(RuntimeError):
    """A step did not do what the benchmark measures; the run is worthless and stops."""


@dataclass
class Files:
    """The CSV bodies of the three scenarios and the counts each import must answer."""

    rows: int
    original: bytes
    revised: bytes
    revised_count: int

    def body(self, scenario: str) -> bytes:
        return self.revised if scenario == "revised" else self.original

    def expected(self, scenario: str) -> dict[str, int]:
        if scenario == "new":
            return {"rows": self.rows, "added": self.rows, "updated": 0, "unchanged": 0}
        if scenario == "same again":
            return {"rows": self.rows, "added": 0, "updated": 0, "unchanged": self.rows}
        return {
            "rows": self.rows,
            "added": 0,
            "updated": self.revised_count,
            "unchanged": self.rows - self.revised_count,
        }


@dataclass
class Timings:
    """Seconds per (engine, scenario): the import over HTTP and the parse reference next to it."""

    imports: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    parses: dict[tuple[str, str], list[float]] = field(default_factory=dict)

    def add(self, engine: str, scenario: str, seconds: float, parse: float) -> None:
        self.imports.setdefault((engine, scenario), []).append(seconds)
        self.parses.setdefault((engine, scenario), []).append(parse)

    def median(self, engine: str, scenario: str) -> float:
        return statistics.median(self.imports[engine, scenario])

    def ratio(self, engine: str, scenario: str) -> float:
        return self.median(engine, scenario) / statistics.median(self.parses[engine, scenario])


def make_files(rows: int) -> Files:
    """The generated export, and a revision of every tenth row (newer timestamp, one more killed)."""
    export = generate(rows, seed=11)
    revised_rows = []
    revised_count = 0
    for index, row in enumerate(export.rows):
        if index % 10 == 0:
            row = {
                **row,
                "timestamp": int(str(row["timestamp"])) + 1_000_000,
                "fatalities": int(str(row["fatalities"])) + 1,
            }
            revised_count += 1
        revised_rows.append(row)
    return Files(rows, export.csv(), export.csv(revised_rows), revised_count)


def parse_seconds(body: bytes, attempts: int = 3) -> float:
    """The reference: reading the same body into dicts with csv.DictReader, in this process.

    The best of a few attempts, each after a collection, so a stray pause does not move it."""
    best = float("inf")
    for _ in range(attempts):
        gc.collect()
        start = time.perf_counter()
        rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))
        best = min(best, time.perf_counter() - start)
        if not rows:
            raise BenchmarkFailed("the parse reference read no rows")
        del rows
    return best


def app_files() -> dict[str, str]:
    """A fingerprint of each file under app/, to tell whether the code moved during the run."""
    return {
        str(path.relative_to(PROJECT_ROOT)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted((PROJECT_ROOT / "app").rglob("*.py"))
    }


def code_state() -> str:
    """The commit measured, noting uncommitted changes to app/."""
    try:
        commit, dirty = (
            subprocess.run(
                ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
            ).stdout.strip()
            for args in (["rev-parse", "--short", "HEAD"], ["status", "--porcelain", "--", "app"])
        )
    except (OSError, subprocess.CalledProcessError):
        return "an unknown commit"
    return f"commit {commit}" + (" with uncommitted changes in app/" if dirty else "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _nigran(url: str, *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "nigran"), *args],
        env={**os.environ, "DATABASE_URL": url},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise BenchmarkFailed(f"nigran {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare(url: str) -> str:
    """Migrate and seed the database; return a new reviewer key."""
    _nigran(url, "db", "upgrade")
    _nigran(url, "seed")
    lines = _nigran(url, "keys", "create", "--role", "reviewer", "--name", "bench").splitlines()
    key = lines[-1].strip() if lines else ""
    if not key or " " in key:
        raise BenchmarkFailed(f"no key on the last line of `nigran keys create`: {lines!r}")
    return key


@contextmanager
def server(url: str, log: Path) -> Iterator[str]:
    """A uvicorn process serving the app on `url`'s database; yields its base URL."""
    port = _free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(BIN / "uvicorn"),
                "app.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env={**os.environ, "DATABASE_URL": url},
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_healthy(base, process, log)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_healthy(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkFailed(f"the server exited ({process.returncode}):\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise BenchmarkFailed(f"the server did not answer /api/v1/health in {STARTUP_TIMEOUT:g} s")


def import_seconds(client: httpx.Client, key: str, files: Files, scenario: str) -> float:
    """One import over HTTP, timed from sending the body to the whole answer; counts checked."""
    body = files.body(scenario)
    start = time.perf_counter()
    response = client.post(
        "/api/v1/incidents/import",
        params={"format": "acled", "file_name": f"bench-{scenario.replace(' ', '-')}.csv"},
        headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
        content=body,
    )
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise BenchmarkFailed(
            f"{scenario}: HTTP {response.status_code} after {elapsed:.1f} s: {response.text[:2000]}"
        )
    answer = response.json()
    got = {name: answer.get(name) for name in files.expected(scenario)}
    if got != files.expected(scenario) or answer.get("skipped"):
        raise BenchmarkFailed(
            f"{scenario}: expected {files.expected(scenario)}, skipped 0; got {got}, "
            f"skipped {answer.get('skipped')} ({answer.get('skipped_reasons')})"
        )
    return elapsed


@contextmanager
def database(engine: str, workdir: Path) -> Iterator[str]:
    """A fresh, empty database for one run; a PostgreSQL one is dropped afterwards."""
    if engine == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="run-", dir=workdir))
        try:
            yield f"sqlite+aiosqlite:///{folder / 'bench.db'}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"nigran_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.format(name=name)
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _pg_admin(statement: str) -> str:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(statement)
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


def postgres_version() -> str | None:
    """The server's version, or None when PostgreSQL cannot be reached."""
    try:
        return asyncio.run(_pg_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        print(f"PostgreSQL ({PG_ADMIN_DSN}) is unreachable ({exc}); skipping it")
        return None


def run_engine(engine: str, files: Files, runs: int, timings: Timings, workdir: Path) -> None:
    for number in range(1, runs + 1):
        with database(engine, workdir) as url:
            key = prepare(url)
            log = workdir / f"server-{engine}-{number}.log"
            with (
                server(url, log) as base,
                httpx.Client(base_url=base, timeout=REQUEST_TIMEOUT) as client,
            ):
                for scenario in SCENARIOS:
                    parse = parse_seconds(files.body(scenario))
                    seconds = import_seconds(client, key, files, scenario)
                    timings.add(engine, scenario, seconds, parse)
                    print(
                        f"{ENGINE_LABELS[engine]:<10} run {number}/{runs} {scenario:<10}: "
                        f"{seconds:7.2f} s, {files.rows / seconds:9,.0f} rows/s, "
                        f"{seconds / parse:6.1f}x parse ({parse:.2f} s)",
                        flush=True,
                    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--engines", nargs="+", choices=list(ENGINE_LABELS), default=list(ENGINE_LABELS)
    )
    args = parser.parse_args()
    if args.rows < 10 or args.runs < 1:
        parser.error("--rows must be at least 10 and --runs at least 1")
    benchmark(args.rows, args.runs, args.engines)


def benchmark(
    rows: int, runs: int, requested: list[str], write: bool = True
) -> tuple[Timings, list[str]]:
    """Measure and, if `write`, rewrite the imports section of RESULTS.md; return the timings
    and the engines measured. A function so that benchmarks.http can run it as one of its lines."""
    started = time.perf_counter()
    versions = {"sqlite": sqlite3.sqlite_version}
    engines: list[str] = []
    for engine in requested:
        if engine == "postgresql":
            version = postgres_version()
            if version is None:
                continue
            versions[engine] = version
        engines.append(engine)
    if not engines:
        raise SystemExit("no engine to measure")
    code, before = code_state(), app_files()
    files = make_files(rows)
    print(
        f"{rows:,} ACLED rows, {len(files.original) / 1e6:.1f} MB; "
        f"{files.revised_count:,} revised; {runs} run(s) on {', '.join(engines)}",
        flush=True,
    )
    timings = Timings()
    workdir = Path(tempfile.mkdtemp(prefix="nigran-bench-imports-"))
    try:
        for engine in engines:
            run_engine(engine, files, runs, timings, workdir)
    except BenchmarkFailed:
        for log in sorted(workdir.glob("server-*.log")):
            print(f"--- {log.name} (last 3000 characters)\n{log.read_text()[-3000:]}")
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    total = time.perf_counter() - started
    after = app_files()
    moved = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    if moved:
        code += f" (changed during the run: {', '.join(moved)})"
        print(f"warning: app/ changed during the run: {', '.join(moved)}")
    if write:
        write_results(section(timings, files.rows, runs, engines, versions, total, code))
    print(f"total {total:.0f} s")
    return timings, engines


def section(
    timings: Timings,
    rows: int,
    runs: int,
    engines: list[str],
    versions: dict[str, str],
    total: float,
    code: str,
) -> str:
    labels = [ENGINE_LABELS[e] for e in engines]
    lines = [
        IMPORTS_START,
        f"## Importing {rows:,} ACLED rows over HTTP",
        "",
        f"`python -m benchmarks.imports` on {platform.machine()} ({platform.platform()}, "
        f"{os.cpu_count()} cores), Python {platform.python_version()}, "
        + ", ".join(f"{ENGINE_LABELS[e]} {versions[e]}" for e in engines)
        + f"; {code}. One uvicorn process per fresh database; median of {runs} run(s), "
        f"{total:.0f} s in "
        "all. Each cell: seconds for the whole request (body sent, answer received), rows per "
        "second, and the ratio to reading the same CSV with `csv.DictReader` in the benchmark "
        "process (best of 3, measured next to each import: these machines are shared and noisy).",
        "",
        "| scenario | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
    ]
    descriptions = {
        "new": f"new file into an empty database (added {rows:,})",
        "same again": f"same file again (unchanged {rows:,})",
        "revised": f"revised file (updated {-(-rows // 10):,} of {rows:,})",
    }
    for scenario in SCENARIOS:
        cells = []
        for engine in engines:
            seconds = timings.median(engine, scenario)
            cells.append(
                f"{seconds:.2f} s, {rows / seconds:,.0f} rows/s, "
                f"{timings.ratio(engine, scenario):.1f}x parse"
            )
        lines.append(f"| {descriptions[scenario]} | " + " | ".join(cells) + " |")
    parse = statistics.median(p for values in timings.parses.values() for p in values)
    slowest = max(((e, s) for e in engines for s in SCENARIOS), key=lambda k: timings.median(*k))
    lines += [
        "",
        "Reading it:",
        f"- The reference, reading the file with `csv.DictReader`, takes about {parse:.2f} s; "
        "a ratio says how many times that an import costs, which moves less from machine to "
        "machine than seconds do.",
        "- 'Same again' writes nothing but the run and its audit entry: it is the cost of "
        "parsing, checking, mapping names and looking the ids up, the floor for a file this size. "
        "'Revised' adds a revision row and an UPDATE per changed record, 'new' an INSERT per row.",
        f"- Slowest: {slowest[1]} on {ENGINE_LABELS[slowest[0]]}, "
        f"{timings.median(*slowest):.1f} s ({rows / timings.median(*slowest):,.0f} rows/s).",
    ]
    if len(engines) == 2:
        apart = [
            s
            for s in SCENARIOS
            if max(timings.median(e, s) for e in engines)
            > 1.5 * min(timings.median(e, s) for e in engines)
        ]
        if apart:
            lines[-1] += (
                " The engines differ by more than 1.5x on: "
                + ", ".join(
                    f"{s} ({timings.median('sqlite', s):.1f} s SQLite, "
                    f"{timings.median('postgresql', s):.1f} s PostgreSQL)"
                    for s in apart
                )
                + "."
            )
    lines.append(IMPORTS_END)
    return "\n".join(lines)


def write_results(block: str) -> None:
    """Replace the imports section of RESULTS.md, or append it; the rest is left as it is."""
    text = RESULTS.read_text() if RESULTS.exists() else ""
    start, end = text.find(IMPORTS_START), text.find(IMPORTS_END)
    if start != -1 and end > start:
        text = text[:start] + block + text[end + len(IMPORTS_END) :]
    else:
        text = text.rstrip("\n") + ("\n\n" if text.strip() else "") + block + "\n"
    RESULTS.write_text(text)
    print(f"wrote the imports section of {RESULTS}")


if __name__ == "__main__":
    main()
