"""Mixed load: anonymous reads, monitor proposals and reviewer approvals at once, then checks.

A fresh seeded database, `uvicorn --workers 2`, and `--connections` concurrent clients (one
httpx.AsyncClient, a task per connection) for `--seconds`. Each client loops over:

- anonymous reads (60%): an item, the item list, incident statistics, a search;
- monitor proposals (20%): a status update on one of 40 items;
- reviewer approvals (20%): a pending proposal, with If-Match from a fresh anonymous read of
  its item (a 412 puts the proposal back: another approval moved the item in between).

Afterwards: no 5xx and no dropped connection; approved updates in the database == the 200
approval answers; every item's version == 1 + its approved updates (and moved by exactly the
approvals answered 200 for it); every approval has its timeline event and audit entry; the
audit chain verifies; the server logged no error. Write rate limits are lifted for the run
(NIGRAN_WRITES_PER_MINUTE).

    python -m soak.load [--seconds 60] [--connections 64] [--workers 2] [--engines postgresql]

Writes its figures between `<!-- soak:load:start -->` and `end` in docs/RELIABILITY.md.
"""

import argparse
import asyncio
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path

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
from soak.crash import proposal

ITEMS = 40
READ, PROPOSE, APPROVE = "read", "propose", "approve"
WEIGHTS = {READ: 60, PROPOSE: 20, APPROVE: 20}
QUERIES = ("national action plan", "madrassa reform", "terror financing", "nacta")


@dataclass
class Load:
    engine: str
    seconds: float
    connections: int
    workers: int
    statuses: Counter[str] = field(default_factory=Counter)  # "op status" -> count
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    approved: set[int] = field(default_factory=set)
    approved_per_item: Counter[str] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    elapsed: float = 0.0
    findings: Findings = field(default_factory=Findings)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())

    def server_errors(self) -> int:
        return sum(n for k, n in self.statuses.items() if k.split()[-1].startswith("5"))

    def percentile(self, op: str, q: float) -> float:
        values = sorted(self.latencies.get(op, []))
        if not values:
            return 0.0
        return values[min(len(values) - 1, int(q * len(values)))]


async def _client(
    http: httpx.AsyncClient,
    load: Load,
    slugs: list[str],
    monitors: list[str],
    reviewers: list[str],
    pending: deque[tuple[int, str]],
    deadline: float,
    seed: int,
) -> None:
    rng = random.Random(seed)
    ops, weights = list(WEIGHTS), list(WEIGHTS.values())

    async def send(op: str, method: str, path: str, **kwargs: object) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            response = await http.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError as exc:
            load.transport_errors[f"{op} {type(exc).__name__}"] += 1
            return None
        load.latencies[op].append(time.perf_counter() - start)
        load.statuses[f"{op} {response.status_code}"] += 1
        return response

    while time.monotonic() < deadline:
        op = rng.choices(ops, weights)[0]
        if op == APPROVE and not pending:
            op = PROPOSE
        if op == READ:
            pick = rng.random()
            if pick < 0.7:
                await send(READ, "GET", f"/api/v1/items/{rng.choice(slugs)}")
            elif pick < 0.85:
                await send(READ, "GET", "/api/v1/items", params={"limit": 20})
            elif pick < 0.93:
                await send(READ, "GET", "/api/v1/stats", params={"limit": 50})
            else:
                await send(READ, "GET", "/api/v1/search", params={"q": rng.choice(QUERIES)})
        elif op == PROPOSE:
            slug = rng.choice(slugs)
            made = await send(
                PROPOSE,
                "POST",
                f"/api/v1/items/{slug}/status-updates",
                json=proposal(rng),
                headers={"Authorization": f"Bearer {rng.choice(monitors)}"},
            )
            if made is not None and made.status_code == 201:
                pending.append((made.json()["id"], slug))
        else:
            update_id, slug = pending.popleft()
            read = await send(READ, "GET", f"/api/v1/items/{slug}")
            if read is None or read.status_code != 200:
                pending.append((update_id, slug))
                continue
            approved = await send(
                APPROVE,
                "POST",
                f"/api/v1/status-updates/{update_id}/approve",
                headers={
                    "Authorization": f"Bearer {rng.choice(reviewers)}",
                    "If-Match": read.headers["etag"],
                },
            )
            if approved is None:
                continue
            if approved.status_code == 200:
                load.approved.add(update_id)
                load.approved_per_item[slug] += 1
            elif approved.status_code == 412:
                pending.append((update_id, slug))  # the item moved on: try again later


async def drive(
    base: str,
    slugs: list[str],
    monitors: list[str],
    reviewers: list[str],
    load: Load,
) -> None:
    pending: deque[tuple[int, str]] = deque()
    limits = httpx.Limits(
        max_connections=load.connections,
        max_keepalive_connections=load.connections,
        keepalive_expiry=CLIENT_KEEPALIVE_SECONDS,
    )
    started = time.monotonic()
    deadline = started + load.seconds
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as http:
        await asyncio.gather(
            *(
                _client(http, load, slugs, monitors, reviewers, pending, deadline, seed=n)
                for n in range(load.connections)
            )
        )
    load.elapsed = time.monotonic() - started


def run_load(
    url: str,
    monitors: list[str],
    reviewers: list[str],
    log: Path,
    *,
    seconds: float,
    connections: int,
    workers: int = 2,
) -> Load:
    db = Direct(url)
    load = Load(db.engine, seconds, connections, workers)
    slugs = [row[0] for row in db.rows(f"SELECT slug FROM policy_item ORDER BY id LIMIT {ITEMS}")]
    before = db.versions()
    with Server(url, log, workers=workers) as server:
        asyncio.run(drive(server.base, slugs, monitors, reviewers, load))
        findings = load.findings
        findings.counts["requests"] = load.requests
        findings.counts["approvals answered 200"] = len(load.approved)
        findings.expect(not load.server_errors(), f"5xx answers: {_of(load.statuses, '5')}")
        findings.expect(not load.transport_errors, f"dropped: {dict(load.transport_errors)}")
        check_approvals(db, findings, acknowledged=load.approved)
        approved_in_db = findings.counts["approved updates in the database"]
        findings.expect(
            approved_in_db == len(load.approved),
            f"{approved_in_db} approved updates in the database, {len(load.approved)} answered 200",
        )
        after = db.versions()
        moved = {s: after[s] - before[s] for s in after if after[s] != before[s]}
        findings.expect(
            moved == dict(load.approved_per_item),
            f"versions moved {moved}, approvals answered {dict(load.approved_per_item)}",
        )
        check_audit_chain(server.base, findings)
        findings.expect(not server.errors_logged(), f"server errors: {server.errors_logged()[:5]}")
    return load


def _of(statuses: Counter[str], first_digit: str) -> dict[str, int]:
    return {k: v for k, v in statuses.items() if k.split()[-1].startswith(first_digit)}


def run(engines: list[str], seconds: float, connections: int, workers: int) -> str:
    workdir = Path(tempfile.mkdtemp(prefix="nigran-soak-load-"))
    loads: list[Load] = []
    started = time.monotonic()
    try:
        for engine in engines:
            with seeded_database(engine, workdir) as url:
                monitors = [create_key(url, "monitor", f"load monitor {n}") for n in range(4)]
                reviewers = [create_key(url, "reviewer", f"load reviewer {n}") for n in range(4)]
                load = run_load(
                    url,
                    monitors,
                    reviewers,
                    workdir / f"server-{engine}.log",
                    seconds=seconds,
                    connections=connections,
                    workers=workers,
                )
                loads.append(load)
                print(summary_line(load), flush=True)
                if load.findings.problems:
                    log = workdir / f"server-{engine}.log"
                    print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
    except SoakFailed:
        for log in sorted(workdir.glob("*.log")):
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}")
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    write_section("load", "Mixed load on PostgreSQL", _section(loads, time.monotonic() - started))
    broken = [
        f"{ENGINE_LABELS[x.engine]}: {x.findings.problems}" for x in loads if x.findings.problems
    ]
    if broken:
        raise SoakFailed("; ".join(broken))
    return "load: " + "; ".join(summary_line(x) for x in loads)


def summary_line(load: Load) -> str:
    return (
        f"{ENGINE_LABELS[load.engine]}: {load.requests:,} requests in {load.elapsed:.0f} s "
        f"({load.requests / load.elapsed:,.0f}/s) over {load.connections} connections, "
        f"{load.workers} workers; {dict(sorted(load.statuses.items()))}; "
        f"problems: {load.findings.problems or 'none'}"
    )


def _section(loads: list[Load], total: float) -> str:
    lines = [
        f"`python -m soak.load` ({machine()}); {total:.0f} s in all, each engine on a fresh "
        "seeded database. Clients and server share the machine's 2 cores, so the rates are "
        "what this box does with both running, not the server's ceiling.",
        "",
        "| engine | load | requests | answers | p50 / p99 (read, propose, approve) | checks |",
        "|---|---|---|---|---|---|",
    ]
    for x in loads:
        answers = ", ".join(f"{k}: {v:,}" for k, v in sorted(x.statuses.items()))
        latency = ", ".join(
            f"{1000 * x.percentile(op, 0.5):.0f} / {1000 * x.percentile(op, 0.99):.0f} ms"
            for op in (READ, PROPOSE, APPROVE)
        )
        counts = x.findings.counts
        checks = (
            f"no 5xx, no dropped connection; {len(x.approved):,} approvals answered 200 = "
            f"{counts.get('approved updates in the database', '?'):,} approved in the database;"
            " every item's version = 1 + its approvals, each with its timeline event and audit "
            f"entry; audit chain intact ({counts.get('audit entries', '?'):,} entries)"
            if not x.findings.problems
            else "PROBLEMS: " + "; ".join(x.findings.problems)
        )
        lines.append(
            f"| {ENGINE_LABELS[x.engine]} | {x.workers} workers, {x.connections} connections, "
            f"{x.elapsed:.0f} s | {x.requests:,} ({x.requests / x.elapsed:,.0f}/s) | {answers} "
            f"| {latency} | {checks} |"
        )
    lines += [
        "",
        "A 412 is an approval whose If-Match was already stale when it arrived (another "
        "reviewer's approval of the same item landed between the read and the approval): the "
        "optimistic lock refusing a lost update, as designed; the client re-reads and retries.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--engines", nargs="+", choices=list(ENGINE_LABELS), default=["postgresql"])
    args = parser.parse_args()
    engines = list(args.engines)
    if "postgresql" in engines and (reason := postgres_reachable()):
        print(f"PostgreSQL is unreachable ({reason}): skipping it", file=sys.stderr)
        engines.remove("postgresql")
    if not engines:
        raise SystemExit("no engine to run on")
    print(run(engines, args.seconds, args.connections, args.workers))


if __name__ == "__main__":
    main()
