"""The items API over the real data set, on both engines."""

import json

from httpx import AsyncClient

from app.core.responses import json_bytes
from app.policies.schemas import ItemDetail
from app.policies.service import read_item_detail
from tests.conftest import Database


async def _all(client: AsyncClient, url: str, limit: int) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(url, params=params)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_pages_cover_every_item_once(client: AsyncClient) -> None:
    whole = (await client.get("/api/v1/items", params={"limit": 500})).json()
    assert whole["next_cursor"] is None
    paged = await _all(client, "/api/v1/items", limit=7)
    assert [i["slug"] for i in paged] == [i["slug"] for i in whole["items"]]
    assert len({i["slug"] for i in paged}) == len(paged) > 100


async def test_every_item_carries_the_contract_fields(client: AsyncClient) -> None:
    for item in await _all(client, "/api/v1/items", limit=500):
        assert {"slug", "kind", "title", "status", "parent", "sources"} <= item.keys()
        assert item["sources"], item["slug"]
        for source in item["sources"]:
            assert source["document"], item["slug"]
            assert source.get("section") or source.get("table") or source.get("url"), item["slug"]


async def test_nap_has_twenty_numbered_clauses(client: AsyncClient) -> None:
    clauses = (
        await client.get("/api/v1/items", params={"kind": "nap_clause", "limit": 100})
    ).json()
    assert sorted(int(c["number"]) for c in clauses["items"]) == list(range(1, 21))
    assert {c["parent"] for c in clauses["items"]} == {"nap-2014"}
    nap = (await client.get("/api/v1/items/nap-2014")).json()
    assert len([c for c in nap["children"] if c["kind"] == "nap_clause"]) == 20


async def test_kinds_named_by_the_contract_are_populated(client: AsyncClient) -> None:
    for kind in ("legislation", "institution", "recommendation", "policy", "dialogue"):
        page = (await client.get("/api/v1/items", params={"kind": kind, "limit": 500})).json()
        assert page["items"], kind
        assert {i["kind"] for i in page["items"]} == {kind}


async def test_filters_by_theme_institution_parent_and_text(client: AsyncClient) -> None:
    by_theme = (await client.get("/api/v1/items?theme=madrassa_reform&limit=500")).json()["items"]
    assert by_theme and all("madrassa_reform" in i["themes"] for i in by_theme)
    by_institution = (await client.get("/api/v1/items?institution=nacta&limit=500")).json()["items"]
    assert by_institution and all("NACTA" in i["institutions"] for i in by_institution)
    under = (await client.get("/api/v1/items?parent=recommendations-7-4&limit=500")).json()["items"]
    assert under and all(i["parent"] == "recommendations-7-4" for i in under)
    found = (await client.get("/api/v1/items?q=madrassa&limit=500")).json()["items"]
    assert any("madrassa" in (i["title"] + i["summary"]).lower() for i in found)


async def test_item_detail_has_history_timeline_and_etag(client: AsyncClient) -> None:
    response = await client.get("/api/v1/items/nacta")
    assert response.status_code == 200
    assert response.headers["etag"].startswith('"nacta-v1.')  # the version, then a digest
    item = response.json()
    assert item["history"] and item["history"][0]["review_state"] == "approved"
    assert item["history"][0]["evidence"]
    assert item["status"] == item["history"][0]["status"]
    assert item["timeline"]
    dates = [e["date"] for e in item["timeline"]]
    assert dates == sorted(dates)


async def test_item_detail_is_exactly_its_documented_schema(
    client: AsyncClient, seeded_db: Database
) -> None:
    """The detail is built from Core rows, not from the response model: every item, in the
    public and the reviewers' view, must still be exactly an `ItemDetail`, key for key."""
    slugs = [i["slug"] for i in await _all(client, "/api/v1/items", 500)]
    async with seeded_db.engine.connect() as connection:
        for slug in slugs:
            for pending in (False, True):
                detail = await connection.run_sync(read_item_detail, slug, pending)
                assert detail is not None
                typed = ItemDetail.model_validate(detail).model_dump(mode="json")
                assert json.loads(json_bytes(detail)) == typed, slug
    served = await client.get(f"/api/v1/items/{slugs[0]}")
    assert served.json() == ItemDetail.model_validate(served.json()).model_dump(mode="json")


async def test_unknown_item_is_a_problem(client: AsyncClient) -> None:
    response = await client.get("/api/v1/items/no-such-item")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "no-such-item" in response.json()["detail"]


async def test_recommendations_point_at_state_responses(
    client: AsyncClient, seeded_db: Database
) -> None:
    recs = (await client.get("/api/v1/items?kind=recommendation&limit=500")).json()["items"]
    linked = 0
    for rec in recs[:40]:
        detail = (await client.get(f"/api/v1/items/{rec['slug']}")).json()
        linked += bool(detail["related"])
        assert rec["target_actors"], rec["slug"]
    assert linked >= 20
