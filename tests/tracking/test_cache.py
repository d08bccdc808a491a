"""The response cache: public reads come from memory, yet a committed write is visible on the
very next read, from this process or from another worker on the same database."""

import httpx
import pytest
from httpx import AsyncClient

from tests.conftest import Database
from tests.servers import uvicorn_server
from tests.tracking.conftest import bearer, propose

ITEM = "/api/v1/items/test-plan"


async def test_public_reads_revalidate_with_etag(mini_client: AsyncClient) -> None:
    first = await mini_client.get(ITEM)
    again = await mini_client.get(ITEM)
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "public, no-cache"
    unchanged = await mini_client.get(ITEM, headers={"If-None-Match": tag})
    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert unchanged.headers["etag"] == tag
    other = await mini_client.get(ITEM, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == first.content
    head = await mini_client.head(ITEM)  # as the GET, without the body
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == tag
    assert head.headers["content-length"] == str(len(first.content))
    assert (await mini_client.head("/api/v1/summary")).status_code == 200
    summary = await mini_client.get("/api/v1/summary")  # no ETag of its own: a digest
    revalidated = await mini_client.get(
        "/api/v1/summary", headers={"If-None-Match": summary.headers["etag"]}
    )
    assert revalidated.status_code == 304


async def test_signed_in_reads_are_private_and_never_shared(
    mini_client: AsyncClient, keys: dict[str, str]
) -> None:
    made = await propose(mini_client, keys["monitor"])
    public = (await mini_client.get(ITEM)).json()
    reviewer = await mini_client.get(ITEM, headers=bearer(keys["reviewer"]))
    assert reviewer.headers["cache-control"] == "private, no-store"
    assert made["id"] in [h["id"] for h in reviewer.json()["history"]]
    assert made["id"] not in [h["id"] for h in public["history"]]
    assert made["id"] not in [h["id"] for h in (await mini_client.get(ITEM)).json()["history"]]


async def test_errors_are_not_kept(mini_client: AsyncClient) -> None:
    missing = await mini_client.get("/api/v1/items/not-yet")
    assert missing.status_code == 404
    assert "cache-control" not in missing.headers


async def test_approval_in_one_worker_is_seen_by_the_next_read_in_another(
    mini_client: AsyncClient, mini_db: Database, keys: dict[str, str]
) -> None:
    with uvicorn_server(mini_db.url) as worker_b:  # a second worker on the same database
        async with AsyncClient(base_url=worker_b) as b:
            before = await b.get(ITEM)
            assert (await b.get(ITEM)).content == before.content  # now held in B's cache
            tag = before.headers["etag"]
            assert (await b.get(ITEM, headers={"If-None-Match": tag})).status_code == 304
            for status in ("implemented", "stalled"):  # twice: a changed version, then again
                made = await propose(mini_client, keys["monitor"], status=status)
                approved = await mini_client.post(
                    f"/api/v1/status-updates/{made['id']}/approve",
                    headers=bearer(keys["reviewer"]),
                )
                assert approved.status_code == 200, approved.text
                after = await b.get(ITEM)
                assert after.json()["status"] == status
                assert after.json()["history"][0]["id"] == made["id"]
                assert (await b.get(ITEM, headers={"If-None-Match": tag})).status_code == 200
                tag = after.headers["etag"]
                seen_by_b = (await b.get("/api/v1/summary")).json()["by_status"]
                here = (await mini_client.get("/api/v1/summary")).json()["by_status"]
                assert seen_by_b == here and here.get(status)


@pytest.mark.parametrize("setting", ["off"])
async def test_cache_can_be_switched_off(
    setting: str, mini_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.config import get_settings
    from app.main import create_app

    monkeypatch.setenv("NIGRAN_CACHE", setting)
    get_settings.cache_clear()
    try:
        app = create_app(mini_db.engine)
    finally:
        monkeypatch.delenv("NIGRAN_CACHE")
        get_settings.cache_clear()
    assert app.state.data_version is None
    async with AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        response = await c.get(ITEM)
    assert response.status_code == 200
    assert "cache-control" not in response.headers
