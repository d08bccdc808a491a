"""Nigran's performance targets over real HTTP, each judged PASS or FAIL.

Every server (Nigran, the bare reference benchmarks.bare, Datasette) runs under the same uvicorn
command line (`--loop uvloop --http httptools --no-access-log`, 127.0.0.1, one worker unless a
target says otherwise), configured by DATABASE_URL and NIGRAN_CACHE. Load comes from wrk with
2 threads and 32 connections, each run bounded in time after a discarded warm-up run. These
machines are shared and noisy, so a throughput figure is never a bare rate: it is the subject's
requests/s divided by the bare endpoint's, measured just before it in the same round (bare,
subject, bare, subject, ...), and the median over the rounds. A run that sees any response of
400 or more, or any socket error, makes its line a failure, not a figure.

    python -m benchmarks.http [--seconds 5] [--rounds 2] [--only item 'summary*']
                              [--engines sqlite postgresql] [--list]

`make bench` runs it all (import benchmark included) and writes benchmarks/RESULTS.md; a run
limited by --only or --engines prints its lines but leaves RESULTS.md alone unless --write.
"""

import argparse
import fnmatch
import json
import os
import shutil
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks import datasette_app, history, imports, report
from benchmarks.report import Row
from benchmarks.serve import WRK, Server, log_tail, serve, wrk
from benchmarks.targets import (
    IMPORT_ROWS,
    LINES,
    PROBES,
    Line,
    Probe,
    Rates,
    Results,
    Unmeasured,
)

HEALTH = "/api/v1/health"
BARE = "/ping"
QUESTIONS = imports.PROJECT_ROOT.parent / "shared" / "eval" / "dev_questions.json"


@dataclass(frozen=True)
class Options:
    """The command line's say on how long and how often everything is measured."""

    seconds: int
    warmup: int
    rounds: int
    timeout: int
    chat_passes: int
    import_runs: int
    write: bool  # RESULTS.md, both its sections


# Servers started together (their probes interleaved in the same rounds), in the order run.
GROUPS = {
    "sqlite": ("sqlite", "sqlite-2w"),
    "uncached": ("sqlite-nocache", "sqlite-nocache-2w", "datasette"),
    "history": ("history-10k", "history-1m"),
    "postgresql": ("postgresql",),
}


# ---- servers ------------------------------------------------------------------------------


class Run:
    """One benchmark run's scratch folder, database copies and options."""

    def __init__(self, options: Options, stack: ExitStack):
        self.options = options
        self.workdir = Path(tempfile.mkdtemp(prefix="nigran-bench-http-"))
        stack.callback(shutil.rmtree, self.workdir, ignore_errors=True)
        self._copies: dict[str, Path] = {}

    def sqlite_copy(self, name: str, source: Path) -> Path:
        """A private copy of a cached database, one per name for the whole run."""
        if name not in self._copies:
            folder = self.workdir / name
            folder.mkdir()
            self._copies[name] = history.copy(source, folder)
        return self._copies[name]


def nigran(
    stack: ExitStack, run: Run, name: str, url: str, cache: str = "on", workers: int = 1
) -> Server:
    """A Nigran server on `url`, stopped when `stack` (its group's) closes."""
    env = {"DATABASE_URL": url, "NIGRAN_CACHE": cache}
    return stack.enter_context(
        serve(name, "app.main:app", env, run.workdir, HEALTH, workers=workers)
    )


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def start(name: str, run: Run, stack: ExitStack) -> Server:
    """Start one of the servers GROUPS names, its database prepared first."""
    if name in ("sqlite", "sqlite-2w"):
        url = sqlite_url(run.sqlite_copy("main", history.seeded()))
        return nigran(stack, run, name, url, workers=2 if name == "sqlite-2w" else 1)
    if name in ("sqlite-nocache", "sqlite-nocache-2w", "datasette"):
        db = run.sqlite_copy("uncached", history.seeded())
        if name != "datasette":
            workers = 2 if name == "sqlite-nocache-2w" else 1
            return nigran(stack, run, name, sqlite_url(db), cache="off", workers=workers)
        env = {
            "BENCH_DATASETTE_DB": str(db),
            "BENCH_DATASETTE_METADATA": str(datasette_app.write_metadata(db, db.parent)),
        }
        app = "benchmarks.datasette_app:create"
        return stack.enter_context(
            serve(name, app, env, run.workdir, "/-/versions.json", factory=True)
        )
    if name in ("history-10k", "history-1m"):
        size = 10_000 if name == "history-10k" else 1_000_000
        return nigran(stack, run, name, sqlite_url(run.sqlite_copy(name, history.grown(size))))
    if name == "postgresql":
        url = stack.enter_context(imports.database("postgresql", run.workdir))
        imports._nigran(url, "db", "upgrade")
        imports._nigran(url, "seed")
        return nigran(stack, run, name, url)
    raise ValueError(name)


# ---- measuring ------------------------------------------------------------------------------


def check(url: str, probe: Probe) -> str | None:
    """Why the URL cannot be measured (not a 200 with the expected data), or None."""
    try:
        response = httpx.get(url, timeout=30)
    except httpx.HTTPError as exc:
        return f"{url}: {exc!r}"
    if response.status_code != 200:
        return f"{url}: HTTP {response.status_code}: {response.text[:300]}"
    try:
        if probe.looks_right(response):
            return None
    except (ValueError, KeyError, TypeError, IndexError):
        pass
    return f"{url}: not the data expected: {response.text[:300]}"


def load(url: str, options: Options) -> float:
    """Requests/s over one bounded wrk run after a discarded warm-up run."""
    if options.warmup > 0:
        wrk(url, options.warmup, options.timeout)
    result = wrk(url, options.seconds, options.timeout)
    problem = result.problem()
    if problem:
        raise Unmeasured(f"{url}: {problem} in {result.requests:,} requests")
    return result.rate


def interleave(
    bare: Server, probes: list[tuple[Probe, str]], results: Results, options: Options
) -> None:
    """Rounds of (bare, subject) pairs for every probe; a probe with a failed run stops."""
    live = []
    for probe, url in probes:
        problem = check(url, probe)
        if problem:
            results.problems[probe.key] = problem
            print(f"  {probe.key}: FAIL before loading: {problem}", flush=True)
        else:
            results.rates[probe.key] = Rates()
            live.append((probe, url))
    for number in range(1, options.rounds + 1):
        for probe, url in live:
            if probe.key in results.problems:
                continue
            try:
                reference = load(bare.base + BARE, options)
                rate = load(url, options)
            except (Unmeasured, imports.BenchmarkFailed) as exc:
                results.problems[probe.key] = str(exc)
                print(f"  round {number} {probe.key}: FAIL: {exc}", flush=True)
                continue
            rates = results.rates[probe.key]
            rates.subject.append(rate)
            rates.bare.append(reference)
            print(
                f"  round {number}/{options.rounds} {probe.key:<16} {rate:9,.0f} req/s, "
                f"bare {reference:9,.0f} req/s: {rate / reference:.3f}",
                flush=True,
            )


def chat(server: Server, results: Results, passes: int) -> None:
    """The dev questions one after another, `passes` times: wall time of each request.

    A question that "follows" another is asked in that question's conversation, as
    ../shared/eval/chat_eval.py asks it."""
    questions = json.loads(QUESTIONS.read_text())
    with httpx.Client(base_url=server.base, timeout=20) as client:
        for _ in range(passes):
            conversations: dict[str, str] = {}
            for question in questions:
                body = {"message": question["question"]}
                if question.get("follows") in conversations:
                    body["conversation_id"] = conversations[question["follows"]]
                started = time.perf_counter()
                response = client.post("/api/v1/chat", json=body)
                elapsed = (time.perf_counter() - started) * 1000
                if response.status_code != 200 or "answer" not in response.json():
                    raise Unmeasured(
                        f"{question['id']}: HTTP {response.status_code}: {response.text[:300]}"
                    )
                conversations[question["id"]] = response.json()["conversation_id"]
                results.chat_ms.append(elapsed)
    times = sorted(results.chat_ms)
    print(f"  chat: {len(times)} requests, slowest {times[-1]:.0f} ms", flush=True)


def run_group(group: str, needed: set[str], bare: Server, run: Run, results: Results) -> None:
    """Start the group's servers that the needed measurements use, measure, read memory."""
    probes = [p for p in PROBES.values() if p.key in needed and p.server in GROUPS[group]]
    wants_chat = group == "sqlite" and "chat" in needed  # on the main server, after its load
    names = {p.server for p in probes} | ({"sqlite"} if wants_chat else set())
    if not names:
        return
    print(f"{group}: starting {', '.join(sorted(names))}", flush=True)
    with ExitStack() as stack:
        servers: dict[str, Server] = {}
        try:
            for name in GROUPS[group]:
                if name in names:
                    servers[name] = start(name, run, stack)
        except Exception as exc:  # a database that cannot be built fails these lines only
            why = f"{name} did not start: {type(exc).__name__}: {str(exc)[:1500]}"
            for key in [p.key for p in probes] + (["chat"] if wants_chat else []):
                results.problems[key] = why
            print(f"  FAIL: {why}", flush=True)
            return
        urls = [(p, servers[p.server].base + p.path) for p in probes]
        interleave(bare, urls, results, run.options)
        if wants_chat:
            try:
                chat(servers["sqlite"], results, run.options.chat_passes)
            except (Unmeasured, httpx.HTTPError, ValueError) as exc:
                results.problems["chat"] = str(exc)
                print(f"  chat: FAIL: {exc}", flush=True)
        for name, server in servers.items():
            if name != "datasette":
                results.rss[name] = (server.workers, server.peak_rss())
            if server.process.poll() is not None:
                print(f"  {name} exited early; its log:\n{log_tail(server)}", flush=True)


def run_imports(engines: list[str], results: Results, runs: int, write: bool) -> None:
    """benchmarks.imports at 100,000 rows, which also rewrites its own RESULTS.md section
    when `write`; the target lines read the 'new' scenario's median from the same runs."""
    print(f"imports: {IMPORT_ROWS:,} rows, {runs} run(s) on {', '.join(engines)}", flush=True)
    try:
        timings, measured = imports.benchmark(IMPORT_ROWS, runs, engines, write=write)
    except imports.BenchmarkFailed as exc:
        results.problems["import"] = str(exc)[:1500]
        print(f"  imports: FAIL: {exc}", flush=True)
        return
    for engine in measured:
        results.imports[engine] = timings.median(engine, "new")


# ---- the run -------------------------------------------------------------------------------


def select(only: list[str] | None, engines: list[str]) -> list[Line]:
    """The lines named by --only (exact keys or shell patterns) on the engines asked for."""
    lines = [line for line in LINES if line.engine in engines]
    if only:
        keys = [line.key for line in LINES]
        unknown = [o for o in only if not fnmatch.filter(keys, o)]
        if unknown:
            raise SystemExit(f"--only: no line {', '.join(unknown)}; see --list")
        lines = [line for line in lines if any(fnmatch.fnmatchcase(line.key, o) for o in only)]
    return lines


def measure(lines: list[Line], engines: list[str], options: Options, pg: str | None) -> Results:
    """Run the groups the lines need, with the bare reference up throughout, then imports."""
    results = Results()
    needed = {need for line in lines for need in line.needs}
    if "postgresql" in engines and pg is None:
        for key in [k for k, p in PROBES.items() if p.server == "postgresql"]:
            results.problems[key] = "PostgreSQL unreachable"
        results.problems["import-postgresql"] = "PostgreSQL unreachable"
    with ExitStack() as stack:
        run = Run(options, stack)
        try:
            bare = stack.enter_context(serve("bare", "benchmarks.bare:app", {}, run.workdir, BARE))
        except imports.BenchmarkFailed as exc:
            raise SystemExit(
                f"the bare reference did not start, nothing to compare: {exc}"
            ) from exc
        for group in GROUPS:
            if group == "postgresql" and pg is None:
                continue
            run_group(group, needed - results.problems.keys(), bare, run, results)
    reachable = [e for e in engines if e != "postgresql" or pg is not None]
    if "import" in needed and reachable:
        run_imports(reachable, results, options.import_runs, options.write)
    return results


def judge(lines: list[Line], results: Results) -> list[Row]:
    rows = []
    for line in lines:
        try:
            figure, passed, detail = line.judge(results)
        except Unmeasured as exc:
            figure, passed, detail = "no figure", False, f"error: {exc}"
        rows.append(Row(line.key, line.what, figure, line.target, passed, detail))
    return rows


def method(options: Options) -> str:
    return (
        "Method: every server runs under `uvicorn --loop uvloop --http httptools "
        "--no-access-log --log-level warning` on 127.0.0.1, one worker unless the line says "
        "otherwise; Nigran is configured by DATABASE_URL and NIGRAN_CACHE (on, except where "
        "the line says off). Load: `wrk -t2 -c32`, a discarded "
        f"{options.warmup} s warm-up, then {options.seconds} s measured. A ratio is the "
        "subject's requests/s over the bare FastAPI endpoint's (`benchmarks/bare.py`, a "
        "constant 10-field JSON) measured just before it, in each of "
        f"{options.rounds} interleaved rounds (bare, subject, bare, subject); the figure is "
        "the median. A run with any response >= 400 or socket error is a failure of its line. "
        "SQLite lines run on a copy of the seeded database (`nigran db upgrade` + `nigran "
        "seed`); the summary also on copies grown to 10,000 and 1,000,000 status updates "
        "(`benchmarks/history.py`, cached in `benchmarks/.data/`); PostgreSQL lines on a "
        "fresh seeded database. Datasette serves the same SQLite file under the same uvicorn "
        "flags, a canned query returning the item's row and its latest 5 approved status "
        "updates. The chat line posts each dev question (`../shared/eval/dev_questions.json`) "
        f"in turn with httpx, {options.chat_passes} passes, and takes the p95 of the wall "
        "time per request. Imports: the 'new' scenario of `benchmarks/imports.py` (section "
        f"below), median of {options.import_runs} run(s). The two-worker line is the "
        "median per round of two workers' req/s over one worker's, both on the read that "
        "reaches the database (cache off); for cache hits it is reported, not judged: a hit "
        "costs the server ~85 us of CPU and wrk ~28 us, mostly loopback TCP (measured by hand "
        "here on 2026-12-02), so with wrk on the same two cores wrk takes a large share of "
        "the second core. Peak RSS is VmHWM from /proc after the load, for "
        "the two-worker server its largest worker and the sum of its processes. The "
        "`measured` column gives each round's req/s as subject/bare."
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=int, default=5, help="measured seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=1, help="discarded seconds before each")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds (median)")
    parser.add_argument("--timeout", type=int, default=10, help="wrk's per-request timeout, s")
    parser.add_argument("--only", nargs="+", metavar="LINE", help="line keys or patterns")
    parser.add_argument(
        "--engines", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"]
    )
    parser.add_argument("--chat-passes", type=int, default=3)
    parser.add_argument(
        "--import-runs",
        type=int,
        default=1,
        help="runs of benchmarks.imports (three imports per engine each; its own CLI does 3)",
    )
    parser.add_argument(
        "--write",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write RESULTS.md; by default only a full run does (a partial one would leave "
        "its http section holding only the lines it ran)",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 if any target is missed")
    parser.add_argument("--list", action="store_true", help="print the line keys and exit")
    args = parser.parse_args()
    if args.list:
        for line in LINES:
            print(f"{line.key:<18} {line.what}  [{line.target}]")
        return
    if args.seconds < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--seconds and --rounds must be at least 1, --warmup at least 0")
    if not os.access(WRK, os.X_OK):
        raise SystemExit(f"{WRK} is missing: install wrk (apt-get install wrk)")
    lines = select(args.only, args.engines)
    full = not args.only and len(args.engines) == 2
    write = args.write if args.write is not None else full
    options = Options(
        args.seconds,
        args.warmup,
        args.rounds,
        args.timeout,
        args.chat_passes,
        args.import_runs,
        write,
    )
    # benchmarks.imports asks `git status` whether app/ is dirty: never let it take a lock.
    os.environ["GIT_OPTIONAL_LOCKS"] = "0"
    started, load_before = time.perf_counter(), os.getloadavg()[0]
    if load_before > (os.cpu_count() or 1) / 2:
        print(f"warning: load average {load_before:.1f}: other work will move the figures")
    before = imports.app_files()
    pg = imports.postgres_version() if "postgresql" in args.engines else None
    results = measure(lines, args.engines, options, pg)
    rows = judge(lines, results)
    after = imports.app_files()
    moved = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    report.print_table(rows)
    for row in rows:
        if row.figure == "no figure":
            print(f"{row.key}: {row.detail}")
    minutes = (time.perf_counter() - started) / 60
    if moved:
        print(f"warning: app/ changed during the run: {', '.join(moved)}")
    print(f"{sum(r.passed for r in rows)} of {len(rows)} targets met, {minutes:.1f} min")
    if write:
        # The machines are shared: say how busy this one was, next to the figures.
        load = f"load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end"
        about = f"{report.machine(pg)}; {load}"
        bare = [
            [r.bare[n] for r in results.rates.values() if len(r.bare) > n]
            for n in range(options.rounds)
        ]
        block = report.section(rows, method(options), bare, about, moved, minutes)
        report.write_results(block)
    unmeasured = any(r.figure == "no figure" for r in rows)
    if unmeasured or (args.strict and not all(r.passed for r in rows)):
        sys.exit(1)


if __name__ == "__main__":
    main()
