"""The audit chain records every write and notices any alteration made behind its back."""

import itertools

from httpx import AsyncClient
from sqlalchemy import text

from tests.conftest import Database
from tests.tracking.conftest import bearer, propose


async def test_verify_detects_a_row_altered_in_the_database(
    mini_client: AsyncClient, mini_db: Database, keys: dict[str, str]
) -> None:
    made = await propose(mini_client, keys["monitor"])
    await mini_client.post(
        f"/api/v1/status-updates/{made['id']}/approve", headers=bearer(keys["reviewer"])
    )
    entries = (await mini_client.get("/api/v1/audit", headers=bearer(keys["reviewer"]))).json()[
        "items"
    ]
    actions = [e["action"] for e in entries]
    assert actions.count("key.create") == 5 and "key.revoke" in actions
    assert actions[-2:] == ["status_update.propose", "status_update.approve"]
    assert all(e["prev_hash"] == p["hash"] for p, e in itertools.pairwise(entries))
    assert (await mini_client.get("/api/v1/audit/verify")).json() == {
        "intact": True,
        "entries": len(entries),
        "first_broken_id": None,
        "problem": None,
    }

    target = entries[-2]["id"]
    async with mini_db.engine.begin() as conn:
        await conn.execute(
            text("UPDATE audit_entry SET actor = 'someone else' WHERE id = :id"), {"id": target}
        )
    report = (await mini_client.get("/api/v1/audit/verify")).json()
    assert report["intact"] is False
    assert report["first_broken_id"] == target
    assert "content" in report["problem"]


async def test_verify_detects_a_deleted_row(
    mini_client: AsyncClient, mini_db: Database, keys: dict[str, str]
) -> None:
    await propose(mini_client, keys["monitor"])
    async with mini_db.engine.begin() as conn:
        await conn.execute(text("DELETE FROM audit_entry WHERE id = 2"))
    report = (await mini_client.get("/api/v1/audit/verify")).json()
    assert report["intact"] is False and report["first_broken_id"] == 3
