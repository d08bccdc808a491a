"""SIGKILL the server in the middle of writes, restart it, and check nothing is half-done.

Two faults, on SQLite and on PostgreSQL, each on a fresh seeded database:

1. **import**: a large ACLED import (`POST /api/v1/incidents/import`) is killed while its rows
   are being written (seen from outside: PostgreSQL's `pg_stat_activity` shows the INSERT, or
   SQLite's WAL file grows). After a restart there must be no trace of it: the incident record
   count and the import runs are as before, no `incidents.import` audit entry, and the audit
   chain verifies. The same file then imports whole.
2. **approvals**: concurrent monitors propose status updates and reviewers approve them (each
   with If-Match from a fresh read); the server is killed mid-stream. After a restart every
   approval a client got 200 for is there, and every approved update is whole: the item's
   version bumped for it (version = 1 + approvals), its timeline event and its audit entry,
   and no orphan of either. The audit chain verifies, and writes work again.

    python -m soak.crash [--rows 100000] [--stream-seconds 10] [--engines sqlite postgresql]

Writes its figures between `<!-- soak:crash:start -->` and `end` in docs/RELIABILITY.md.
"""

import argparse
import asyncio
import hashlib
import random
import shutil
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from soak.common import (
    CLIENT_KEEPALIVE_SECONDS,
    ENGINE_LABELS,
    Direct,
    Findings,
    Server,
    SoakFailed,
    check_approvals,
    check_audit_chain,
    create_key,
    machine,
    postgres_reachable,
    seeded_database,
    write_section,
)
from tests.incidents.acled import generate

IMPORT_TIMEOUT = 900.0
WRITING_TIMEOUT = 300.0


@dataclass
class ImportCrash:
    engine: str
    rows: int
    killed_mid_import: bool = False
    seconds_to_writing: float = 0.0
    seconds_to_kill: float = 0.0
    restart_seconds: float = 0.0
    reimport_seconds: float = 0.0
    findings: Findings = field(default_factory=Findings)


@dataclass
class ApprovalCrash:
    engine: str
    seconds: float
    outcomes: Counter[str] = field(default_factory=Counter)
    in_flight_at_kill: Counter[str] = field(default_factory=Counter)
    restart_seconds: float = 0.0
    findings: Findings = field(default_factory=Findings)


def _import_state(db: Direct) -> dict[str, int]:
    return {
        "incident records": db.scalar("SELECT count(*) FROM incident_record"),
        "import runs": db.scalar("SELECT count(*) FROM incident_import"),
        "import audit entries": db.scalar(
            "SELECT count(*) FROM audit_entry WHERE action = 'incidents.import'"
        ),
        "audit entries": db.scalar("SELECT count(*) FROM audit_entry"),
    }


def _writing_started(db: Direct, wal: Path | None, wal_before: int) -> bool:
    """Rows of the import are being written, in a transaction not yet committed."""
    if db.engine == "postgresql":
        return bool(
            db.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND (query ILIKE 'INSERT INTO incident_record%' "
                "OR query ILIKE 'COPY %incident_record%')"  # imports add rows by COPY
            )
        )
    assert wal is not None
    # Past its page cache SQLite spills the open transaction's pages to the WAL: it grows.
    return wal.exists() and wal.stat().st_size > wal_before + 512 * 1024


def _post_import(base: str, key: str, body: bytes, into: dict[str, Any]) -> None:
    started = time.monotonic()
    try:
        with httpx.Client(base_url=base, timeout=IMPORT_TIMEOUT) as client:
            into["response"] = client.post(
                "/api/v1/incidents/import",
                params={"format": "acled", "file_name": "crash.csv"},
                headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"},
                content=body,
            )
    except httpx.HTTPError as exc:
        into["error"] = exc
    into["seconds"] = time.monotonic() - started


def import_crash(
    server: Server, reviewer_key: str, *, rows: int, kill_after: float, reimport: bool = True
) -> ImportCrash:
    """Kill the running `server` `kill_after` seconds after the import's rows start being
    written, restart it and check; it is left running."""
    db = Direct(server.url)
    engine = db.engine
    result = ImportCrash(engine, rows)
    before = _import_state(db)
    body = generate(rows, seed=23).csv()
    checksum = hashlib.sha256(body).hexdigest()
    wal = None
    if engine == "sqlite":
        path = Path(str(db.url).split(":///", 1)[1])
        wal = path.with_name(path.name + "-wal")
    wal_before = wal.stat().st_size if wal and wal.exists() else 0
    outcome: dict[str, Any] = {}
    sender = threading.Thread(target=_post_import, args=(server.base, reviewer_key, body, outcome))
    started = time.monotonic()
    sender.start()
    while not _writing_started(db, wal, wal_before):
        if not sender.is_alive() or time.monotonic() - started > WRITING_TIMEOUT:
            raise SoakFailed(f"the import never got to writing rows: {outcome}")
        time.sleep(0.02)
    result.seconds_to_writing = time.monotonic() - started
    time.sleep(kill_after)
    result.killed_mid_import = sender.is_alive() and _writing_or_open(db, wal, wal_before)
    result.seconds_to_kill = time.monotonic() - started
    server.kill()
    sender.join(timeout=60)
    if "response" in outcome:
        raise SoakFailed(
            f"the import finished ({outcome['response'].status_code}) before the kill at "
            f"{result.seconds_to_kill:.2f} s: lower the kill delay"
        )
    restart = time.monotonic()
    server.start()
    result.restart_seconds = time.monotonic() - restart
    after = _import_state(db)
    findings = result.findings
    findings.counts.update({f"{k} before": v for k, v in before.items()})
    findings.counts.update({f"{k} after the crash": v for k, v in after.items()})
    for name in ("incident records", "import runs", "import audit entries", "audit entries"):
        findings.expect(
            after[name] == before[name],
            f"{name}: {before[name]} before, {after[name]} after the killed import",
        )
    findings.expect(
        not db.scalar("SELECT count(*) FROM incident_import WHERE checksum = $1", checksum),
        "the killed import is recorded as a run",
    )
    check_audit_chain(server.base, findings)
    if not reimport:
        return result
    # The database is not stuck: the same file imports whole after the restart.
    again: dict[str, Any] = {}
    _post_import(server.base, reviewer_key, body, again)
    response = again.get("response")
    findings.expect(
        response is not None and response.status_code == 200,
        f"re-import after restart: {response.status_code if response else again}",
    )
    if response is not None and response.status_code == 200:
        result.reimport_seconds = again["seconds"]
        findings.expect(response.json()["added"] == rows, f"re-import: {response.json()}")
        records = db.scalar("SELECT count(*) FROM incident_record")
        findings.expect(
            records == before["incident records"] + rows,
            f"re-import left {records} records, wanted {before['incident records'] + rows}",
        )
    check_audit_chain(server.base, findings)
    findings.expect(not server.errors_logged(), f"server errors: {server.errors_logged()[:5]}")
    return result


def _writing_or_open(db: Direct, wal: Path | None, wal_before: int) -> bool:
    """Just before the kill: the import's transaction is still open."""
    if db.engine == "postgresql":
        return bool(
            db.scalar(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 724002 "
                "AND granted"
            )
        )
    assert wal is not None
    probe = sqlite3.connect(wal.with_name(wal.name.removesuffix("-wal")), timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")  # fails at once while the import holds the write lock
        probe.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        probe.close()


# --- approvals ------------------------------------------------------------------------------

EVIDENCE = [{"url": "https://example.org/soak", "title": "Soak report", "published": "2025-01-10"}]
STATUSES = ["implemented", "stalled", "in_progress", "partially_implemented", "proposed"]


def proposal(rng: random.Random) -> dict[str, Any]:
    return {
        "status": rng.choice(STATUSES),
        "note": "Soak test: confirmed by the provincial home department.",
        "effective_date": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "evidence": EVIDENCE,
    }


@dataclass
class Stream:
    """What the clients of an approval stream were told."""

    proposed: set[int] = field(default_factory=set)
    approved: set[int] = field(default_factory=set)
    outcomes: Counter[str] = field(default_factory=Counter)
    current: dict[int, str | None] = field(default_factory=dict)  # worker -> request out

    def in_flight(self) -> Counter[str]:
        return Counter(step for step in self.current.values() if step)


async def _stream_worker(
    client: httpx.AsyncClient,
    stream: Stream,
    slugs: list[str],
    monitor: str,
    reviewer: str,
    stop: asyncio.Event,
    worker: int,
) -> None:
    rng = random.Random(worker)

    async def send(step: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        stream.current[worker] = step
        try:
            response = await client.request(method, path, **kwargs)
        finally:
            stream.current[worker] = None
        stream.outcomes[f"{step} {response.status_code}"] += 1
        return response

    step = "propose"
    while not stop.is_set():
        slug = rng.choice(slugs)
        try:
            step = "propose"
            made = await send(
                step,
                "POST",
                f"/api/v1/items/{slug}/status-updates",
                json=proposal(rng),
                headers={"Authorization": f"Bearer {monitor}"},
            )
            if made.status_code != 201:
                continue
            update_id = made.json()["id"]
            stream.proposed.add(update_id)
            step = "read"
            read = await send(step, "GET", f"/api/v1/items/{slug}")
            if read.status_code != 200:
                continue
            step = "approve"
            approve = await send(
                step,
                "POST",
                f"/api/v1/status-updates/{update_id}/approve",
                headers={"Authorization": f"Bearer {reviewer}", "If-Match": read.headers["etag"]},
            )
            if approve.status_code == 200:
                stream.approved.add(update_id)
        except httpx.TransportError:
            stream.outcomes[f"{step}: connection lost"] += 1
            return  # the server is gone


async def run_stream(
    base: str,
    slugs: list[str],
    monitor: str,
    reviewer: str,
    *,
    concurrency: int,
    seconds: float,
    kill: Any = None,
) -> tuple[Stream, Counter[str]]:
    """`concurrency` clients propose and approve for `seconds`; then `kill()` if given (while
    their requests are in flight), else they stop. Returns what they were told and the
    requests in flight at the kill."""
    stream = Stream()
    stop = asyncio.Event()
    in_flight: Counter[str] = Counter()
    limits = httpx.Limits(
        max_connections=concurrency,
        max_keepalive_connections=concurrency,
        keepalive_expiry=CLIENT_KEEPALIVE_SECONDS,
    )
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:
        workers = [
            asyncio.create_task(_stream_worker(client, stream, slugs, monitor, reviewer, stop, n))
            for n in range(concurrency)
        ]
        await asyncio.sleep(seconds)
        if kill is not None:
            in_flight = stream.in_flight()
            kill()
        stop.set()
        await asyncio.gather(*workers)
    return stream, in_flight


def approval_crash(
    server: Server, monitor_key: str, reviewer_key: str, *, seconds: float, concurrency: int = 8
) -> ApprovalCrash:
    """Kill the running `server` in the middle of a stream of proposals and approvals,
    restart it and check; it is left running."""
    db = Direct(server.url)
    result = ApprovalCrash(db.engine, seconds)
    slugs = [row[0] for row in db.rows("SELECT slug FROM policy_item ORDER BY id LIMIT 20")]
    stream, in_flight = asyncio.run(
        run_stream(
            server.base,
            slugs,
            monitor_key,
            reviewer_key,
            concurrency=concurrency,
            seconds=seconds,
            kill=server.kill,
        )
    )
    result.outcomes, result.in_flight_at_kill = stream.outcomes, in_flight
    restart = time.monotonic()
    server.start()
    result.restart_seconds = time.monotonic() - restart
    findings = result.findings
    findings.counts["proposals answered 201"] = len(stream.proposed)
    findings.counts["approvals answered 200"] = len(stream.approved)
    check_approvals(db, findings, acknowledged=stream.approved)
    stored = {row[0] for row in db.rows("SELECT id FROM status_update WHERE origin <> 'seed'")}
    lost = sorted(stream.proposed - stored)
    findings.expect(not lost, f"proposals answered 201 but not in the database: {lost}")
    proposed_audit = Counter(
        int(row[0])
        for row in db.rows(
            f"SELECT {db.audit_json('status_update')} FROM audit_entry "
            "WHERE action = 'status_update.propose'"
        )
    )
    unaudited = sorted(i for i in stored if proposed_audit[i] != 1)
    findings.expect(not unaudited, f"proposals without exactly one audit entry: {unaudited}")
    check_audit_chain(server.base, findings)
    # Writes work again after the restart, and leave everything whole.
    after, _ = asyncio.run(
        run_stream(server.base, slugs, monitor_key, reviewer_key, concurrency=2, seconds=1.0)
    )
    server_errors = [k for k in after.outcomes if k.split()[-1].startswith("5")]
    findings.expect(
        bool(after.approved) and not server_errors,
        f"writes after the restart: {dict(after.outcomes)}",
    )
    findings.counts["approvals after the restart"] = len(after.approved)
    check_approvals(db, findings, acknowledged=stream.approved | after.approved)
    check_audit_chain(server.base, findings)
    findings.expect(not server.errors_logged(), f"server errors: {server.errors_logged()[:5]}")
    return result


def crash_both(
    url: str,
    monitor_key: str,
    reviewer_key: str,
    log: Path,
    *,
    rows: int,
    kill_after: float,
    stream_seconds: float,
    reimport: bool = True,
) -> tuple[ImportCrash, ApprovalCrash]:
    """Both faults on one database and one server (killed and restarted twice)."""
    server = Server(url, log).start()
    try:
        imported = import_crash(
            server, reviewer_key, rows=rows, kill_after=kill_after, reimport=reimport
        )
        approved = approval_crash(server, monitor_key, reviewer_key, seconds=stream_seconds)
    finally:
        server.stop()
    return imported, approved


# --- the long run ---------------------------------------------------------------------------


def run(engines: list[str], rows: int, kill_after: float, stream_seconds: float) -> str:
    workdir = Path(tempfile.mkdtemp(prefix="nigran-soak-crash-"))
    imports: list[ImportCrash] = []
    approvals: list[ApprovalCrash] = []
    started = time.monotonic()
    failures: list[str] = []
    try:
        body = generate(rows, seed=23).csv()
        print(f"{rows:,} ACLED rows, {len(body) / 1e6:.1f} MB", flush=True)
        for engine in engines:
            label = ENGINE_LABELS[engine]
            with seeded_database(engine, workdir) as url:
                reviewer = create_key(url, "reviewer", "soak reviewer")
                monitor = create_key(url, "monitor", "soak monitor")
                crash, stream = crash_both(
                    url,
                    monitor,
                    reviewer,
                    workdir / f"server-{engine}.log",
                    rows=rows,
                    kill_after=kill_after,
                    stream_seconds=stream_seconds,
                )
                imports.append(crash)
                print(
                    f"{label:<10} import: writing after {crash.seconds_to_writing:.1f} s, killed "
                    f"at {crash.seconds_to_kill:.1f} s (mid-import: {crash.killed_mid_import}); "
                    f"restart {crash.restart_seconds:.1f} s; re-import {crash.reimport_seconds:.1f}"
                    f" s; problems: {crash.findings.problems or 'none'}",
                    flush=True,
                )
                approvals.append(stream)
                print(
                    f"{label:<10} approvals: {dict(stream.outcomes)}; in flight at the kill: "
                    f"{dict(stream.in_flight_at_kill)}; problems: "
                    f"{stream.findings.problems or 'none'}",
                    flush=True,
                )
            if imports[-1].findings.problems or approvals[-1].findings.problems:
                log = workdir / f"server-{engine}.log"
                print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
            for item in (imports[-1], approvals[-1]):
                if item.findings.problems or (
                    isinstance(item, ImportCrash) and not item.killed_mid_import
                ):
                    failures.append(f"{label}: {item.findings.problems or 'not killed mid-import'}")
    except SoakFailed:
        for log in sorted(workdir.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    total = time.monotonic() - started
    write_section(
        "crash", "Crash during import and approvals", _section(imports, approvals, rows, total)
    )
    if failures:
        raise SoakFailed("; ".join(failures))
    return f"crash: {len(imports)} import crash(es), {len(approvals)} approval crash(es), all whole"


def _section(
    imports: list[ImportCrash], approvals: list[ApprovalCrash], rows: int, total: float
) -> str:
    lines = [
        f"`python -m soak.crash` ({machine()}); {total:.0f} s in all. Each engine on a fresh "
        "seeded database, one uvicorn process, killed with SIGKILL (its whole process group).",
        "",
        f"Import of {rows:,} ACLED rows, killed while its rows were being written:",
        "",
        "| engine | writing began | killed at | killed mid-import | after the restart | "
        "re-import of the same file |",
        "|---|---|---|---|---|---|",
    ]
    for c in imports:
        counts = c.findings.counts
        state = (
            f"{counts.get('incident records after the crash', '?'):,} records, "
            f"{counts.get('import runs after the crash', '?')} runs (as before); audit chain "
            f"{'intact' if not c.findings.problems else 'BROKEN'} "
            f"({counts.get('audit entries', '?')} entries)"
        )
        lines.append(
            f"| {ENGINE_LABELS[c.engine]} | {c.seconds_to_writing:.1f} s | "
            f"{c.seconds_to_kill:.1f} s | {'yes' if c.killed_mid_import else 'NO'} | "
            f"{state if not c.findings.problems else '; '.join(c.findings.problems)} | "
            f"{c.reimport_seconds:.1f} s, all {rows:,} added |"
        )
    lines += [
        "",
        "Proposals and approvals from 8 concurrent clients (monitor proposes, anonymous read "
        "for the ETag, reviewer approves with If-Match), killed mid-stream:",
        "",
        "| engine | stream | answers before the kill | in flight at the kill | checked after "
        "the restart |",
        "|---|---|---|---|---|",
    ]
    for a in approvals:
        counts = a.findings.counts
        answers = ", ".join(f"{k}: {v}" for k, v in sorted(a.outcomes.items()))
        flight = ", ".join(f"{k} {v}" for k, v in sorted(a.in_flight_at_kill.items())) or "none"
        checked = (
            f"{counts.get('approved updates in the database', '?')} approved updates, each with "
            "its version bump, timeline event and audit entry; every 200 and 201 kept; audit "
            f"chain intact ({counts.get('audit entries', '?')} entries); "
            f"{counts.get('approvals after the restart', 0)} approvals after the restart"
            if not a.findings.problems
            else "PROBLEMS: " + "; ".join(a.findings.problems)
        )
        lines.append(
            f"| {ENGINE_LABELS[a.engine]} | {a.seconds:.0f} s | {answers} | {flight} | {checked} |"
        )
    lines += [
        "",
        "Why it holds: an import and an approval are each one transaction (the import writes "
        "its rows, its run and its audit entry, and commits once; an approval bumps the "
        "version, claims the update, adds the timeline event and the audit entry, and commits "
        "once), and both engines throw away an uncommitted transaction when the process dies "
        "(PostgreSQL aborts it with the connection; SQLite ignores WAL frames with no commit "
        "record). A 200 is only sent after the commit, so a client that was told 200 finds its "
        "write after the crash.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--kill-after", type=float, default=1.0, help="seconds after the rows begin to be written"
    )
    parser.add_argument("--stream-seconds", type=float, default=10.0)
    parser.add_argument(
        "--engines", nargs="+", choices=list(ENGINE_LABELS), default=list(ENGINE_LABELS)
    )
    args = parser.parse_args()
    engines = list(args.engines)
    if "postgresql" in engines and (reason := postgres_reachable()):
        print(f"PostgreSQL is unreachable ({reason}): skipping it", file=sys.stderr)
        engines.remove("postgresql")
    if not engines:
        raise SystemExit("no engine to run on")
    print(run(engines, args.rows, args.kill_after, args.stream_seconds))


if __name__ == "__main__":
    main()
