"""The progress summary agrees with the items, and as_of replays the approved history."""

import csv
import io
from collections import Counter

from httpx import AsyncClient

from tests.tracking.conftest import bearer, propose


async def _all_items(client: AsyncClient) -> list[dict]:
    items, cursor = [], None
    while True:
        page = (
            await client.get(
                "/api/v1/items", params={"limit": 500, **({"cursor": cursor} if cursor else {})}
            )
        ).json()
        items += page["items"]
        if not (cursor := page["next_cursor"]):
            return items


async def test_summary_counts_agree_with_the_items(client: AsyncClient) -> None:
    items = await _all_items(client)
    summary = (await client.get("/api/v1/summary")).json()
    assert summary["total"] == len(items)
    statuses = Counter(i["status"] for i in items)
    assert {k: v for k, v in summary["by_status"].items() if v} == dict(statuses)
    for kind, counts in Counter(i["kind"] for i in items).items():
        assert summary["by_kind"][kind]["total"] == counts
        by_status = Counter(i["status"] for i in items if i["kind"] == kind)
        assert {k: v for k, v in summary["by_kind"][kind]["by_status"].items() if v} == dict(
            by_status
        )
    assert summary["implemented"] == statuses["implemented"]
    assert summary["share_implemented"] == round(statuses["implemented"] / len(items), 4)
    assert [c["number"] for c in summary["nap_clauses"]] == [str(n) for n in range(1, 21)]
    assert {s["slug"] for s in summary["stalled"]} == {
        i["slug"] for i in items if i["status"] == "stalled"
    }
    nacta_items = [i for i in items if "NACTA" in i["institutions"]]
    assert summary["by_institution"]["NACTA"]["total"] == len(nacta_items)


async def test_recommendation_sections_count_points_and_sub_points(client: AsyncClient) -> None:
    items = {i["slug"]: i for i in await _all_items(client)}

    def section(slug: str) -> str:
        while items[slug]["kind"] != "report_section":
            slug = items[slug]["parent"]
        return slug

    expected = Counter(section(s) for s, i in items.items() if i["kind"] == "recommendation")
    summary = (await client.get("/api/v1/summary")).json()
    assert {s["slug"]: s["total"] for s in summary["by_recommendation_section"]} == dict(expected)


async def test_as_of_replays_the_approved_history(
    mini_client: AsyncClient, keys: dict[str, str]
) -> None:
    reviewer = keys["reviewer"]
    await propose(mini_client, reviewer, status="implemented", effective_date="2025-01-15")
    await propose(mini_client, reviewer, status="stalled", effective_date="2025-06-01")
    await propose(
        mini_client, reviewer, status="abandoned", effective_date="2025-08-01", jurisdiction="sindh"
    )
    pending = await propose(
        mini_client, keys["monitor"], status="abandoned", effective_date="2025-07-01"
    )
    assert pending["review_state"] == "pending"

    async def plan_status(as_of: str) -> str:
        summary = (await mini_client.get("/api/v1/summary", params={"as_of": as_of})).json()
        (policy,) = [k for k, v in summary["by_kind"].items() if k == "policy"]
        counts = summary["by_kind"][policy]["by_status"]
        return next(status for status, n in counts.items() if n)

    assert await plan_status("2023-12-31") == "unknown"
    assert await plan_status("2024-06-01") == "partially_implemented"
    assert await plan_status("2025-03-01") == "implemented"
    assert await plan_status("2025-07-15") == "stalled"
    assert (
        await plan_status("2025-12-31") == "stalled"
    )  # a Sindh-only update leaves the overall status
    now = (await mini_client.get("/api/v1/summary")).json()
    assert now["by_kind"]["policy"]["by_status"]["stalled"] == 1
    assert (await mini_client.get("/api/v1/summary?as_of=2000-01-01")).json()["by_status"][
        "unknown"
    ] == 3


async def test_since_counts_what_was_recorded(
    mini_client: AsyncClient, keys: dict[str, str]
) -> None:
    before = (await mini_client.get("/api/v1/summary?since=2020-01-01")).json()["changes"]
    assert before == {"since": "2020-01-01", "status_changes": 0, "new_events": 0, "new_items": 0}
    await propose(mini_client, keys["reviewer"], status="implemented")
    after = (await mini_client.get("/api/v1/summary?since=2020-01-01")).json()["changes"]
    assert after["status_changes"] == 1
    changes = (await mini_client.get("/api/v1/changes?since=2020-01-01")).json()
    assert [c["item"] for c in changes["status_changes"]] == ["test-plan"]
    assert (await mini_client.get("/api/v1/changes?since=2999-01-01")).json()[
        "status_changes"
    ] == []


async def test_stale_and_past_target(mini_client: AsyncClient, keys: dict[str, str]) -> None:
    summary = (await mini_client.get("/api/v1/summary?stale_days=1&as_of=2030-01-01")).json()
    assert {s["slug"] for s in summary["stale"]} == {
        "test-plan",
        "test-clause-one",
        "test-recommendation",
    }
    fresh = (await mini_client.get("/api/v1/summary?stale_days=3650")).json()
    assert fresh["stale"] == []
    etag = (await mini_client.get("/api/v1/items/test-recommendation")).headers["etag"]
    await mini_client.patch(
        "/api/v1/items/test-recommendation",
        json={"target_date": "2025-06-30"},
        headers={**bearer(keys["reviewer"]), "If-Match": etag},
    )
    past = (await mini_client.get("/api/v1/summary")).json()["past_target_date"]
    assert [(p["slug"], p["date"]) for p in past] == [("test-recommendation", "2025-06-30")]


async def test_markdown_and_html_briefings(client: AsyncClient) -> None:
    md = await client.get("/api/v1/summary?format=md")
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith("# Nigran progress briefing")
    assert "| 10 | NAP clause 10" in md.text or "| 10 |" in md.text
    html = await client.get("/api/v1/summary?format=html")
    assert html.headers["content-type"].startswith("text/html")
    assert "<table>" in html.text and "@media print" in html.text


async def test_csv_quotes_commas_and_quotes(mini_client: AsyncClient, keys: dict[str, str]) -> None:
    title = 'Law on "hate speech", incitement, and glorification'
    made = await mini_client.post(
        "/api/v1/items",
        json={
            "slug": "test-quoted",
            "kind": "legislation",
            "title": title,
            "summary": 'A law, with "quotes", made by a test.',
            "sources": [{"doc": "pips-2024", "section": "6.1.3"}],
        },
        headers=bearer(keys["reviewer"]),
    )
    assert made.status_code == 201
    for response in (
        await mini_client.get("/api/v1/items?format=csv"),
        await mini_client.get("/api/v1/items", headers={"Accept": "text/csv"}),
    ):
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert {r["slug"]: r["title"] for r in rows}["test-quoted"] == title
        assert '"Law on ""hate speech"", incitement, and glorification"' in response.text
    stats = await mini_client.get("/api/v1/timeline?format=csv")
    assert next(iter(csv.DictReader(io.StringIO(stats.text))))["item"] == "test-plan"


async def test_stats_csv_has_a_column_per_dimension_and_metric(client: AsyncClient) -> None:
    response = await client.get("/api/v1/stats", params={"table": "Table 4", "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert {
        "period.start",
        "period.end",
        "dimensions.region",
        "metrics.attacks",
        "metrics.killed",
    } <= set(rows[0])
    assert {r["dimensions.region"]: r["metrics.attacks"] for r in rows}["Balochistan"] == "110"
