"""The statistics API over the real data set, on both engines."""

from httpx import AsyncClient


async def _observations(client: AsyncClient, **params: object) -> list[dict]:
    page = (await client.get("/api/v1/stats", params={"limit": 500, **params})).json()
    assert page["next_cursor"] is None
    return page["observations"]


async def test_table_4_rows_sum_to_the_stated_2023_totals(client: AsyncClient) -> None:
    rows = await _observations(client, table="Table 4")
    totals = [r for r in rows if r["total"]]
    parts = [r for r in rows if not r["total"]]
    assert len(totals) == 1
    for metric, expected in (("attacks", 306), ("killed", 693), ("injured", 1124)):
        assert totals[0]["metrics"][metric] == expected
        assert sum(r["metrics"][metric] for r in parts) == expected
    assert all(r["source"]["table"] == "Table 4" for r in rows)
    assert all(r["period"] == {"start": "2023-01-01", "end": "2023-12-31"} for r in rows)


async def test_table_label_is_forgiving(client: AsyncClient) -> None:
    assert await _observations(client, table="table 4") == await _observations(
        client, table="Table 4"
    )


async def test_aliases_resolve_to_the_same_observations(client: AsyncClient) -> None:
    canonical = await _observations(client, group="IS-K")
    assert canonical
    assert await _observations(client, group="ISKP") == canonical
    kp = await _observations(client, region="Khyber Pakhtunkhwa")
    assert kp and await _observations(client, region="KPK") == kp


async def test_every_observation_cites_its_source(client: AsyncClient) -> None:
    cursor = None
    seen = 0
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/stats", params=params)).json()
        for obs in page["observations"]:
            source = obs["source"]
            assert source["document"]
            assert source.get("table") or source.get("section") or source.get("url"), obs
            assert obs["metrics"] and obs["period"]["start"] <= obs["period"]["end"]
        seen += len(page["observations"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen > 300


async def test_metric_and_year_filters(client: AsyncClient) -> None:
    rows = await _observations(client, metric="arrests", year=2023)
    assert rows
    assert all("arrests" in r["metrics"] for r in rows)
    assert all(
        r["period"]["start"] >= "2023-01-01" and r["period"]["end"] <= "2023-12-31" for r in rows
    )


async def test_statistics_sets_cover_tables_1_to_15(client: AsyncClient) -> None:
    tables = (await client.get("/api/v1/stats/tables")).json()
    labels = {t["table"] for t in tables if t["table"]}
    assert labels == {f"Table {n}" for n in range(1, 16)}
    assert all(t["observations"] > 0 for t in tables)


async def test_one_group_or_place_by_slug_or_alias(client: AsyncClient) -> None:
    by_slug = await client.get("/api/v1/groups/is-k")
    assert by_slug.status_code == 200 and by_slug.json()["name"] == "IS-K"
    assert (await client.get("/api/v1/groups/ISKP")).json() == by_slug.json()
    place = await client.get("/api/v1/places/KPK")
    assert place.status_code == 200 and place.json()["name"] == "Khyber Pakhtunkhwa"
    for missing in ("/api/v1/groups/no-such-group", "/api/v1/places/atlantis"):
        response = await client.get(missing)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
