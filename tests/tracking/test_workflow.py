"""Monitors propose, reviewers approve or reject; only approved updates change an item."""

import asyncio

from httpx import AsyncClient

from tests.tracking.conftest import EVIDENCE, bearer, propose, status_body


async def _item(client: AsyncClient, slug: str = "test-plan", key: str | None = None) -> dict:
    return (await client.get(f"/api/v1/items/{slug}", headers=bearer(key))).json()


async def test_monitor_update_waits_for_approval(
    mini_client: AsyncClient, keys: dict[str, str]
) -> None:
    made = await propose(mini_client, keys["monitor"])
    assert made["review_state"] == "pending"
    assert made["item"] == "test-plan"
    assert (await _item(mini_client))["status"] == "partially_implemented"
    assert made["id"] not in [h["id"] for h in (await _item(mini_client))["history"]]
    assert made["id"] in [
        h["id"] for h in (await _item(mini_client, key=keys["reviewer"]))["history"]
    ]

    approved = await mini_client.post(
        f"/api/v1/status-updates/{made['id']}/approve", headers=bearer(keys["reviewer"])
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["review_state"] == "approved"
    item = await _item(mini_client)
    assert item["status"] == "implemented"
    assert item["history"][0]["id"] == made["id"]
    assert item["version"] == 2


async def test_rejected_update_is_visible_but_changes_nothing(
    mini_client: AsyncClient, keys: dict[str, str]
) -> None:
    made = await propose(mini_client, keys["monitor"], status="abandoned")
    rejected = await mini_client.post(
        f"/api/v1/status-updates/{made['id']}/reject",
        json={"reason": "The source is an opinion piece."},
        headers=bearer(keys["reviewer"]),
    )
    assert rejected.status_code == 200
    assert rejected.json()["review_reason"] == "The source is an opinion piece."
    item = await _item(mini_client)
    assert item["status"] == "partially_implemented"
    assert [h["review_state"] for h in item["history"] if h["id"] == made["id"]] == ["rejected"]
    again = await mini_client.post(
        f"/api/v1/status-updates/{made['id']}/approve", headers=bearer(keys["reviewer"])
    )
    assert again.status_code == 409


async def test_reviewer_update_is_approved_at_once(
    mini_client: AsyncClient, keys: dict[str, str]
) -> None:
    made = await propose(mini_client, keys["reviewer"], status="stalled")
    assert made["review_state"] == "approved"
    assert (await _item(mini_client))["status"] == "stalled"


async def test_update_without_evidence_is_refused(
    mini_client: AsyncClient, keys: dict[str, str]
) -> None:
    for evidence in ([], [{"title": "No address or citation", "published": "2025-01-01"}]):
        response = await mini_client.post(
            "/api/v1/items/test-plan/status-updates",
            json=status_body(evidence=evidence),
            headers=bearer(keys["monitor"]),
        )
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert any(e["field"].startswith("body.evidence") for e in response.json()["errors"])


async def test_scoped_updates_give_a_status_per_jurisdiction(
    mini_client: AsyncClient, keys: dict[str, str]
) -> None:
    await propose(
        mini_client,
        keys["reviewer"],
        slug="test-clause-one",
        status="implemented",
        jurisdiction="punjab",
    )
    await propose(
        mini_client,
        keys["reviewer"],
        slug="test-clause-one",
        status="stalled",
        jurisdiction="sindh",
    )
    item = await _item(mini_client, "test-clause-one")
    assert item["status"] == "in_progress"
    assert {k: v["status"] for k, v in item["status_by_jurisdiction"].items()} == {
        "punjab": "implemented",
        "sindh": "stalled",
    }


async def test_stale_approval_is_412_and_if_match_confirms(
    mini_client: AsyncClient, keys: dict[str, str]
) -> None:
    first = await propose(mini_client, keys["monitor"], status="implemented")
    second = await propose(mini_client, keys["monitor"], status="stalled")
    ok = await mini_client.post(
        f"/api/v1/status-updates/{first['id']}/approve", headers=bearer(keys["reviewer"])
    )
    assert ok.status_code == 200
    stale = await mini_client.post(
        f"/api/v1/status-updates/{second['id']}/approve", headers=bearer(keys["reviewer"])
    )
    assert stale.status_code == 412
    assert stale.json()["current_etag"] == '"test-plan-v2"'
    confirmed = await mini_client.post(
        f"/api/v1/status-updates/{second['id']}/approve",
        headers={**bearer(keys["reviewer"]), "If-Match": '"test-plan-v2"'},
    )
    assert confirmed.status_code == 200
    assert (await _item(mini_client))["status"] == "stalled"


async def test_idempotency_key_makes_a_retry_safe(
    mini_client: AsyncClient, keys: dict[str, str]
) -> None:
    headers = {**bearer(keys["monitor"]), "Idempotency-Key": "retry-1"}
    first = await mini_client.post(
        "/api/v1/items/test-plan/status-updates", json=status_body(), headers=headers
    )
    second = await mini_client.post(
        "/api/v1/items/test-plan/status-updates", json=status_body(), headers=headers
    )
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second.headers["idempotent-replayed"] == "true"
    queue = (await mini_client.get("/api/v1/review-queue", headers=bearer(keys["reviewer"]))).json()
    assert len(queue["status_updates"]) == 1
    other = await mini_client.post(
        "/api/v1/items/test-plan/status-updates",
        json=status_body(status="stalled"),
        headers=headers,
    )
    assert other.status_code == 409


async def test_identical_requests_in_flight_act_once(
    mini_client: AsyncClient, keys: dict[str, str]
) -> None:
    """A client that retries before the first answer arrives: both get the one answer."""
    headers = {**bearer(keys["monitor"]), "Idempotency-Key": "impatient-1"}
    answers = await asyncio.gather(
        *(
            mini_client.post(
                "/api/v1/items/test-plan/status-updates", json=status_body(), headers=headers
            )
            for _ in range(5)
        )
    )
    assert [a.status_code for a in answers] == [201] * 5
    assert len({a.json()["id"] for a in answers}) == 1
    assert sum(a.headers.get("idempotent-replayed") == "true" for a in answers) == 4
    queue = (await mini_client.get("/api/v1/review-queue", headers=bearer(keys["reviewer"]))).json()
    assert len(queue["status_updates"]) == 1


async def test_events_need_review(mini_client: AsyncClient, keys: dict[str, str]) -> None:
    body = {
        "date": "2025-03-01",
        "type": "meeting",
        "description": "Apex committee reviewed the plan.",
        "evidence": EVIDENCE,
    }
    made = await mini_client.post(
        "/api/v1/items/test-plan/events", json=body, headers=bearer(keys["monitor"])
    )
    assert made.status_code == 201 and made.json()["review_state"] == "pending"
    descriptions = [e["description"] for e in (await _item(mini_client))["timeline"]]
    assert body["description"] not in descriptions
    ok = await mini_client.post(
        f"/api/v1/events/{made.json()['id']}/approve", headers=bearer(keys["reviewer"])
    )
    assert ok.status_code == 200
    assert body["description"] in [e["description"] for e in (await _item(mini_client))["timeline"]]


async def test_public_correction_is_held_for_review(
    mini_client: AsyncClient, keys: dict[str, str]
) -> None:
    body = {
        "message": "The plan was fully implemented in 2025 per the gazette.",
        "proposed_status": "implemented",
        "evidence": EVIDENCE,
    }
    made = await mini_client.post("/api/v1/items/test-plan/corrections", json=body)
    assert made.status_code == 201 and made.json()["review_state"] == "pending"
    assert (await _item(mini_client))["status"] == "partially_implemented"
    ok = await mini_client.post(
        f"/api/v1/corrections/{made.json()['id']}/approve", headers=bearer(keys["reviewer"])
    )
    assert ok.status_code == 200
    assert (await _item(mini_client))["status"] == "implemented"


async def test_public_corrections_refuse_markup_and_are_rate_limited(
    mini_client: AsyncClient,
) -> None:
    body = {"message": "See <script>alert(1)</script> for details.", "evidence": EVIDENCE}
    response = await mini_client.post("/api/v1/items/test-plan/corrections", json=body)
    assert response.status_code == 422
    assert "body.message" in [e["field"] for e in response.json()["errors"]]
    clean = {"message": "The date of the first meeting is wrong.", "evidence": EVIDENCE}
    codes = [
        (await mini_client.post("/api/v1/items/test-plan/corrections", json=clean)).status_code
        for _ in range(6)
    ]
    assert codes == [201] * 5 + [429]


async def test_reviewer_creates_and_edits_items(
    mini_client: AsyncClient, keys: dict[str, str]
) -> None:
    new = {
        "slug": "test-new-law",
        "kind": "legislation",
        "title": "A new counter-terrorism law",
        "summary": "A law passed to test item creation through the API.",
        "parent": "test-plan",
        "themes": ["legal_framework"],
        "sources": [{"doc": "pips-2024", "section": "6.1.3"}],
    }
    made = await mini_client.post("/api/v1/items", json=new, headers=bearer(keys["reviewer"]))
    assert made.status_code == 201, made.text
    assert made.json()["parent"] == "test-plan" and made.json()["status"] == "unknown"
    assert (
        await mini_client.post("/api/v1/items", json=new, headers=bearer(keys["reviewer"]))
    ).status_code == 409
    bad = await mini_client.post(
        "/api/v1/items",
        json={**new, "slug": "x-y", "kind": "manifesto"},
        headers=bearer(keys["reviewer"]),
    )
    assert bad.status_code == 422 and "body.kind" in [e["field"] for e in bad.json()["errors"]]

    current = await mini_client.get("/api/v1/items/test-new-law")
    edit = {"summary": "A corrected summary of the new law and what it does."}
    missing = await mini_client.patch(
        "/api/v1/items/test-new-law", json=edit, headers=bearer(keys["reviewer"])
    )
    assert missing.status_code == 428
    ok = await mini_client.patch(
        "/api/v1/items/test-new-law",
        json=edit,
        headers={**bearer(keys["reviewer"]), "If-Match": current.headers["etag"]},
    )
    assert ok.status_code == 200 and ok.json()["summary"] == edit["summary"]
    assert ok.headers["etag"] == '"test-new-law-v2"'
    stale = await mini_client.patch(
        "/api/v1/items/test-new-law",
        json=edit,
        headers={**bearer(keys["reviewer"]), "If-Match": current.headers["etag"]},
    )
    assert stale.status_code == 412
    unknown = await mini_client.patch(
        "/api/v1/items/test-new-law",
        json={"colour": "red"},
        headers={**bearer(keys["reviewer"]), "If-Match": ok.headers["etag"]},
    )
    assert unknown.status_code == 422


async def test_oversized_body_is_413(mini_client: AsyncClient, keys: dict[str, str]) -> None:
    body = status_body(note="x" * 70_000)
    response = await mini_client.post(
        "/api/v1/items/test-plan/status-updates", json=body, headers=bearer(keys["monitor"])
    )
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
