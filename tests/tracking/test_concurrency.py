"""Fifty reviewers race to approve conflicting updates of one item: one wins each round."""

import asyncio

import pytest
from httpx import AsyncClient

from app.accounts import auth
from app.accounts.models import Role
from app.accounts.service import create_key
from tests.conftest import Database
from tests.tracking.conftest import bearer, propose

REVIEWERS = 50
ROUNDS = 3
STATUSES = ["implemented", "stalled", "in_progress", "abandoned", "proposed"]


async def test_fifty_reviewers_racing(
    mini_client: AsyncClient,
    mini_db: Database,
    keys: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(auth.writes, "limit", 10_000)  # the monitor files 150 proposals here
    async with mini_db.session() as session, session.begin():
        reviewer_keys = [
            (await create_key(session, name=f"racer {n}", role=Role.REVIEWER)).key
            for n in range(REVIEWERS)
        ]
    winners: list[int] = []
    for round_no in range(ROUNDS):
        proposals = [
            await propose(
                mini_client, keys["monitor"], status=STATUSES[(round_no + n) % len(STATUSES)]
            )
            for n in range(REVIEWERS)
        ]
        etag = (await mini_client.get("/api/v1/items/test-plan")).headers["etag"]

        async def approve(key: str, update_id: int, etag: str = etag) -> int:
            response = await mini_client.post(
                f"/api/v1/status-updates/{update_id}/approve",
                headers={**bearer(key), "If-Match": etag},
            )
            return response.status_code

        codes = await asyncio.gather(
            *(approve(k, p["id"]) for k, p in zip(reviewer_keys, proposals, strict=True))
        )
        assert sorted(codes) == [200] + [412] * (REVIEWERS - 1), codes
        winners.append(proposals[codes.index(200)]["id"])

    item = (
        await mini_client.get("/api/v1/items/test-plan", headers=bearer(keys["reviewer"]))
    ).json()
    assert item["version"] == 1 + ROUNDS
    approved = [
        h
        for h in item["history"]
        if h["review_state"] == "approved" and h["author"] != "Nigran seed (report baseline)"
    ]
    assert sorted(h["id"] for h in approved) == sorted(winners)
    pending = [h for h in item["history"] if h["review_state"] == "pending"]
    assert len(pending) == ROUNDS * (REVIEWERS - 1)
    latest = max(approved, key=lambda h: (h["effective_date"], h["recorded_at"], h["id"]))
    assert item["status"] == latest["status"]

    verify = (await mini_client.get("/api/v1/audit/verify")).json()
    assert verify["intact"] is True
    approvals = [
        e
        for e in (
            await mini_client.get("/api/v1/audit?limit=500", headers=bearer(keys["reviewer"]))
        ).json()["items"]
        if e["action"] == "status_update.approve"
    ]
    assert [e["details"]["status_update"] for e in approvals] == winners
