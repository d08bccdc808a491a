"""The timeline is chronological, cited, filterable, and its feed is valid Atom."""

import feedparser
from httpx import AsyncClient

from tests.tracking.conftest import EVIDENCE, bearer, propose


async def test_timeline_is_chronological_and_cited(client: AsyncClient) -> None:
    events, cursor = [], None
    while True:
        page = (
            await client.get(
                "/api/v1/timeline", params={"limit": 37, **({"cursor": cursor} if cursor else {})}
            )
        ).json()
        events += page["events"]
        if not (cursor := page["next_cursor"]):
            break
    whole = (await client.get("/api/v1/timeline", params={"limit": 500})).json()["events"]
    assert [e["id"] for e in events] == [e["id"] for e in whole]
    assert len(events) > 200
    assert [e["date"] for e in events] == sorted(e["date"] for e in events)
    assert all(e["sources"] and e["item"] and e["description"] for e in events)


async def test_item_filter_includes_children(client: AsyncClient) -> None:
    nap = (await client.get("/api/v1/timeline", params={"item": "nap-2014", "limit": 500})).json()[
        "events"
    ]
    own = (await client.get("/api/v1/items/nap-2014/timeline", params={"limit": 500})).json()[
        "events"
    ]
    assert nap == own
    items = {e["item"] for e in nap}
    assert "nap-2014" in items and any(i.startswith("nap-2014-clause-") for i in items)


async def test_date_kind_and_theme_filters(client: AsyncClient) -> None:
    window = (await client.get("/api/v1/timeline?from=2015-01-01&to=2015-12-31&limit=500")).json()[
        "events"
    ]
    assert window and all("2015-01-01" <= e["date"] <= "2015-12-31" for e in window)
    talks = (await client.get("/api/v1/timeline?kind=dialogue&limit=500")).json()["events"]
    assert talks and {e["item_kind"] for e in talks} == {"dialogue"}
    newest = (await client.get("/api/v1/timeline?order=desc&limit=5")).json()["events"]
    assert [e["date"] for e in newest] == sorted((e["date"] for e in newest), reverse=True)
    bad = await client.get("/api/v1/timeline?kind=manifesto")
    assert bad.status_code == 422


async def test_approved_status_changes_join_the_timeline_and_feed(
    mini_client: AsyncClient, keys: dict[str, str]
) -> None:
    made = await propose(
        mini_client, keys["monitor"], status="implemented", effective_date="2025-02-01"
    )
    before = (await mini_client.get("/api/v1/items/test-plan/timeline")).json()["events"]
    assert all(e["type"] != "status_change" for e in before)
    await mini_client.post(
        f"/api/v1/status-updates/{made['id']}/approve", headers=bearer(keys["reviewer"])
    )
    after = (await mini_client.get("/api/v1/items/test-plan/timeline")).json()["events"]
    change = [e for e in after if e["type"] == "status_change"]
    assert len(change) == 1 and change[0]["date"] == "2025-02-01"
    assert change[0]["sources"][0]["url"] == EVIDENCE[0]["url"]

    response = await mini_client.get("/api/v1/feeds/changes.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    assert feed.feed.title.startswith("Nigran")
    first = feed.entries[0]
    assert "status change" in first.title and first.link.endswith("/items/test-plan")
    assert not first.link.endswith("/api/v1/items/test-plan")  # the page, for people
    assert any(lk.href.endswith("/api/v1/items/test-plan") for lk in first.links)
    assert first.updated.startswith("2025-02-01")


async def test_feed_of_the_full_data_is_valid_atom(client: AsyncClient) -> None:
    feed = feedparser.parse(
        (await client.get("/api/v1/feeds/changes.atom?kind=legislation&limit=20")).content
    )
    assert feed.bozo == 0 and feed.version == "atom10"
    assert len(feed.entries) == 20
    assert all(e.id and e.title and e.updated and e.summary for e in feed.entries)
