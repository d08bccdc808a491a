"""What the soak scripts share: fresh databases, API keys, uvicorn servers that can be
SIGKILLed, direct reads of the database, the invariants every run checks, and writing figures
into docs/RELIABILITY.md.

Every server listens on 127.0.0.1 only and every loop is bounded in time and count.
"""

import asyncio
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.engine import make_url

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RELIABILITY = PROJECT_ROOT / "docs" / "RELIABILITY.md"
POSTGRES_URL = os.environ.get(
    "NIGRAN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
ENGINE_LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
STARTUP_TIMEOUT = 60.0
# Clients drop idle connections before uvicorn does (its --timeout-keep-alive is 5 s), so a
# request is never sent on a connection the server is closing at that moment.
CLIENT_KEEPALIVE_SECONDS = 2.0
# Writes per key per minute: the load and the approval streams write far faster than a person.
UNLIMITED_WRITES = "10000000"


class SoakFailed(AssertionError):
    """An invariant did not hold (or a step did not do what the run needs)."""


def pg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""

    async def probe() -> None:
        conn = await asyncpg.connect(pg_dsn(POSTGRES_URL), timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def nigran(url: str, *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "nigran"), *args],
        env={**os.environ, "DATABASE_URL": url},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SoakFailed(f"nigran {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def create_key(url: str, role: str, name: str) -> str:
    """A new API key from `nigran keys create` (its last line)."""
    lines = nigran(url, "keys", "create", "--role", role, "--name", name).splitlines()
    key = lines[-1].strip() if lines else ""
    if not key or " " in key:
        raise SoakFailed(f"no key on the last line of `nigran keys create`: {lines!r}")
    return key


async def _pg_admin(statement: str) -> None:
    conn = await asyncpg.connect(pg_dsn(POSTGRES_URL), timeout=5)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def seeded_database(engine: str, workdir: Path) -> Iterator[str]:
    """A fresh database, migrated and seeded with policy_data/ by the CLI; dropped after."""
    if engine == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="db-", dir=workdir))
        url = f"sqlite+aiosqlite:///{folder / 'soak.db'}"
        try:
            nigran(url, "db", "upgrade")
            nigran(url, "seed")
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"nigran_soak_{uuid.uuid4().hex[:12]}"
    asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        nigran(url, "db", "upgrade")
        nigran(url, "seed")
        yield url
    finally:
        asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


class Server:
    """A uvicorn process (or, with workers > 1, a supervisor and its workers) in a process
    group of its own, so SIGKILL takes every process of it at once, as a crash would."""

    def __init__(
        self, url: str, log: Path, *, workers: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.url, self.log, self.workers = url, log, workers
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "NIGRAN_WRITES_PER_MINUTE": UNLIMITED_WRITES,
            **(env or {}),
        }
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> "Server":
        command = [
            str(BIN / "uvicorn"),
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "info",  # no access log, but a worker the supervisor replaces is logged
            "--no-access-log",
        ]
        if self.workers > 1:
            command += ["--workers", str(self.workers)]
        self.started_at = time.monotonic()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command,
                env=self.env,
                cwd=PROJECT_ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: killpg reaches the workers
            )
        self._wait_healthy()
        return self

    def _wait_healthy(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + STARTUP_TIMEOUT
        ready = 0
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SoakFailed(f"the server exited ({self.process.returncode}):\n{self.tail()}")
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=5).status_code == 200:
                    ready += 1
                    # With several workers one answering says nothing of the others: ask a
                    # few times (each new connection may land on another worker).
                    if ready >= min(self.workers, 3):
                        return
                    continue
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise SoakFailed(f"the server did not answer /api/v1/health in {STARTUP_TIMEOUT:g} s")

    def kill(self) -> None:
        """SIGKILL every process of the server: no shutdown handler, no rollback, no flush."""
        if self.process is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        with suppress(ProcessLookupError):  # workers left behind by a supervisor that died
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None

    def tail(self, characters: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-characters:] if self.log.exists() else ""

    def errors_logged(self) -> list[str]:
        """Tracebacks, ERROR lines (a 500 logs one) and workers that died or hung (uvicorn's
        supervisor replaces them, dropping their connections) in the server's log."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        signs = ("Traceback", "ERROR", "died", "failed to start")
        return [line for line in text.splitlines() if any(sign in line for sign in signs)]

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


# --- reading the database directly (not through the app under test) -----------------------


class Direct:
    """Plain queries on the database under test, through the engine's own driver."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_url(url).get_backend_name()

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        if self.engine == "sqlite":
            path = make_url(self.url).database
            assert path
            conn = sqlite3.connect(path, timeout=30)
            try:
                return [tuple(r) for r in conn.execute(sql.replace("$1", "?"), args)]
            finally:
                conn.close()
        return asyncio.run(self._pg_rows(sql, *args))

    async def _pg_rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(pg_dsn(self.url), timeout=10)
        try:
            return [tuple(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    def scalar(self, sql: str, *args: Any) -> Any:
        rows = self.rows(sql, *args)
        return rows[0][0] if rows else None

    def versions(self) -> dict[str, int]:
        return dict(self.rows("SELECT slug, version FROM policy_item"))  # type: ignore[arg-type]

    def audit_json(self, field: str) -> str:
        """SQL for one key of audit_entry.details as text, on either engine."""
        if self.engine == "sqlite":
            return f"json_extract(details, '$.{field}')"
        return f"(details::json ->> '{field}')"


@dataclass
class Findings:
    """Invariants checked after a run: what was counted, and what broke."""

    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def expect(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def raise_if_broken(self, what: str) -> None:
        if self.problems:
            raise SoakFailed(f"{what}: " + "; ".join(self.problems[:20]))


def check_approvals(db: Direct, findings: Findings, acknowledged: set[int] | None = None) -> None:
    """Every approved status update (beyond the seed) is whole: the item's version was bumped
    for it, it has its timeline event and its audit entry; and nothing else moved a version.

    `acknowledged`: approvals a client got a 200 for, each of which must be in the database."""
    approved = {
        row[0]: row[1]
        for row in db.rows(
            "SELECT id, item_id FROM status_update "
            "WHERE review_state = 'approved' AND origin <> 'seed'"
        )
    }
    findings.counts["approved updates in the database"] = len(approved)
    events = Counter(
        row[0]
        for row in db.rows(
            "SELECT status_update_id FROM timeline_event WHERE status_update_id IS NOT NULL"
        )
    )
    audited = Counter(
        int(row[0])
        for row in db.rows(
            f"SELECT {db.audit_json('status_update')} FROM audit_entry "
            "WHERE action = 'status_update.approve'"
        )
    )
    missing_event = [i for i in approved if events[i] != 1]
    missing_audit = [i for i in approved if audited[i] != 1]
    findings.expect(
        not missing_event, f"approved updates without exactly one timeline event: {missing_event}"
    )
    findings.expect(
        not missing_audit, f"approved updates without exactly one audit entry: {missing_audit}"
    )
    stray_events = [i for i in events if i not in approved]
    findings.expect(
        not stray_events,
        f"status timeline events for updates that are not approved: {stray_events[:10]}",
    )
    stray_audit = [i for i in audited if i not in approved]
    findings.expect(
        not stray_audit, f"approve audit entries for updates that are not approved: {stray_audit}"
    )
    per_item = Counter(approved.values())
    wrong = [
        (item_id, version, 1 + per_item[item_id])
        for item_id, version in db.rows("SELECT id, version FROM policy_item")
        if version != 1 + per_item[item_id]
    ]
    findings.expect(
        not wrong, f"items whose version is not 1 + their approvals (id, version, want): {wrong}"
    )
    if acknowledged is not None:
        lost = sorted(acknowledged - approved.keys())
        findings.expect(not lost, f"approvals answered 200 but not in the database: {lost}")


def check_audit_chain(base: str, findings: Findings) -> None:
    report = httpx.get(f"{base}/api/v1/audit/verify", timeout=120).json()
    findings.counts["audit entries"] = report.get("entries", 0)
    findings.expect(report.get("intact") is True, f"the audit chain does not verify: {report}")


# --- docs/RELIABILITY.md --------------------------------------------------------------------


def write_section(name: str, heading: str, body: str) -> None:
    """Replace the text between `<!-- soak:NAME:start -->` and `:end` in docs/RELIABILITY.md,
    or add the section (under its heading) at the end; the rest of the file is kept."""
    start, end = f"<!-- soak:{name}:start -->", f"<!-- soak:{name}:end -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = RELIABILITY.read_text() if RELIABILITY.exists() else "# Reliability\n"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    elif f"## {heading}\n" in text:
        at = text.index(f"## {heading}\n")
        following = text.find("\n## ", at + 1)
        following = len(text) if following == -1 else following
        text = text[:following].rstrip("\n") + "\n\n" + block + "\n" + text[following:]
    else:
        text = text.rstrip("\n") + f"\n\n## {heading}\n\n{block}\n"
    RELIABILITY.parent.mkdir(exist_ok=True)
    RELIABILITY.write_text(text)
    print(f"wrote the soak:{name} section of {RELIABILITY.relative_to(PROJECT_ROOT)}")


def machine() -> str:
    import platform

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}; load average {load} when written"
    )
