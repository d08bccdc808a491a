"""SIGKILL mid-import and mid-approvals leaves nothing half-done: the short version of
`python -m soak.crash`, on both engines (one server, killed and restarted twice)."""

import asyncio
from pathlib import Path

from app.accounts.models import Role
from app.accounts.service import create_key
from soak.crash import crash_both
from tests.conftest import Database

# Enough rows that writing them takes about a second on either engine (COPY / executemany),
# and a kill soon after writing starts, so the kill lands mid-import on a fast machine too.
ROWS = 40_000
KILL_AFTER = 0.1


async def _key(db: Database, role: Role) -> str:
    async with db.session() as session, session.begin():
        return (await create_key(session, name=f"crash {role}", role=role)).key


async def test_killed_import_and_approvals_leave_nothing_half_done(
    seeded_db: Database, tmp_path: Path
) -> None:
    monitor = await _key(seeded_db, Role.MONITOR)
    reviewer = await _key(seeded_db, Role.REVIEWER)
    imported, approved = await asyncio.to_thread(
        crash_both,
        seeded_db.url,
        monitor,
        reviewer,
        tmp_path / "server.log",
        rows=ROWS,
        kill_after=KILL_AFTER,
        stream_seconds=1.5,
        # The soak re-imports the file whole after the restart; here the approvals that
        # follow show the database takes writes again.
        reimport=False,
    )
    assert imported.killed_mid_import, "the import was not in progress when the server was killed"
    assert not imported.findings.problems, imported.findings.problems
    counts = imported.findings.counts
    assert counts["incident records after the crash"] == counts["incident records before"]

    assert not approved.findings.problems, approved.findings.problems
    assert approved.findings.counts["approvals answered 200"] > 0, approved.outcomes
    assert sum(approved.in_flight_at_kill.values()) > 0, "nothing was in flight at the kill"
