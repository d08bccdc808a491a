"""Mixed reads, proposals and approvals against two workers on PostgreSQL: no 5xx, and every
approval answered 200 is in the database, whole (the short version of `python -m soak.load`)."""

import asyncio
from pathlib import Path

import pytest

from app.accounts.models import Role
from app.accounts.service import create_key
from soak.load import run_load
from tests.conftest import Database


@pytest.mark.parametrize("engine_name", ["postgresql"], indirect=True)
async def test_mixed_load_on_two_workers(seeded_db: Database, tmp_path: Path) -> None:
    async with seeded_db.session() as session, session.begin():
        monitors = [
            (await create_key(session, name=f"m{n}", role=Role.MONITOR)).key for n in (1, 2)
        ]
        reviewers = [
            (await create_key(session, name=f"r{n}", role=Role.REVIEWER)).key for n in (1, 2)
        ]

    load = await asyncio.to_thread(
        run_load,
        seeded_db.url,
        monitors,
        reviewers,
        tmp_path / "server.log",
        seconds=6,
        connections=16,
        workers=2,
    )
    assert not load.findings.problems, load.findings.problems
    assert load.statuses["read 200"] > 100, load.statuses
    assert load.statuses["propose 201"] > 10, load.statuses
    assert load.approved, load.statuses
