"""Trends from the report's aggregates, before/after comparisons, CSV and charts, on both engines."""

import csv
import io
import struct
import xml.etree.ElementTree as ET

from httpx import AsyncClient

SVG = "{http://www.w3.org/2000/svg}"
TABLE_1_KP = {"metric": "attacks", "table": "Table 1", "region": "KPK", "group_by": "region"}
BEFORE = {"start": "2019-08-01", "end": "2021-07-31"}
AFTER = {"start": "2021-08-01", "end": "2023-07-08"}


async def _trend(client: AsyncClient, **params: object) -> dict:
    response = await client.get("/api/v1/trends", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def _points(series: dict) -> list[tuple[str, object, object, object]]:
    return [
        (p["period"]["start"], p["value"], p["change"], p["change_pct"]) for p in series["points"]
    ]


async def test_table_1_kp_change_is_the_printed_one(client: AsyncClient) -> None:
    body = await _trend(client, **TABLE_1_KP, source="report")
    assert body["metric"] == "attacks" and body["source"] == "report"
    [series] = body["series"]
    assert series["key"] == {"region": "Khyber Pakhtunkhwa"}
    before, after = series["points"]
    assert (before["period"], before["value"], before["change"]) == (BEFORE, 173, None)
    assert (after["period"], after["value"]) == (AFTER, 318)
    assert (after["change"], after["change_pct"], after["reported_change_pct"]) == (145, 83.8, 84)
    assert all(s["table"] == "Table 1" for p in series["points"] for s in p["sources"])
    assert {s["table"] for s in body["sources"]} == {"Table 1"}


async def test_table_1_by_region_keeps_printed_changes_that_disagree_with_the_counts(
    client: AsyncClient,
) -> None:
    body = await _trend(client, metric="attacks", table="Table 1", group_by="region")
    by_region = {s["key"]["region"]: s["points"] for s in body["series"]}
    assert set(by_region) == {
        "Khyber Pakhtunkhwa",
        "Balochistan",
        "Punjab and Islamabad",
        "Sindh",
        "Gilgit-Baltistan and Azad Jammu and Kashmir",
    }
    balochistan = by_region["Balochistan"][1]
    assert (balochistan["value"], balochistan["change"], balochistan["reported_change_pct"]) == (
        173,
        68,
        65,
    )
    # 15 -> 11 is a 26.7% fall; the table prints 20%. Both are shown, neither is corrected.
    punjab = by_region["Punjab and Islamabad"][1]
    assert (punjab["change"], punjab["change_pct"], punjab["reported_change_pct"]) == (
        -4,
        -26.7,
        -20,
    )
    # No change % from zero attacks: GB and AJK went from 0 to 1.
    assert by_region["Gilgit-Baltistan and Azad Jammu and Kashmir"][1]["change_pct"] is None


async def test_pips_yearly_totals_as_a_yearly_series_with_changes(client: AsyncClient) -> None:
    body = await _trend(client, metric="attacks", statistics="pips-yearly-totals", group_by="year")
    [series] = body["series"]
    assert series["key"] == {}
    points = _points(series)
    assert points[:3] == [
        ("2013-01-01", 1717, None, None),
        ("2014-01-01", 1206, -511, -29.8),
        ("2015-01-01", 625, -581, -48.2),
    ]
    assert [p[0][:4] for p in points] == [str(y) for y in range(2013, 2023)]
    killed = await _trend(client, metric="killed", statistics="pips-yearly-totals", group_by="year")
    first, second = killed["series"][0]["points"][:2]
    assert (first["value"], second["value"], second["change"]) == (2451, 1723, -728)
    assert all(s.get("url") for p in killed["series"][0]["points"] for s in p["sources"])


async def test_windows_that_are_not_calendar_years_are_left_out_not_divided(
    client: AsyncClient,
) -> None:
    body = await _trend(client, metric="attacks", group_by="year")
    periods = [p["period"] for s in body["series"] for p in s["points"]]
    assert BEFORE not in periods and AFTER not in periods
    left = {(o["statistics"], o["period"]["start"], o["value"]) for o in body["left_out"]}
    assert ("table-01", "2019-08-01", 317) in left
    assert ("table-01", "2021-08-01", 520) in left
    assert all("not one calendar year" in o["reason"] for o in body["left_out"])
    assert any("left_out" in note for note in body["notes"])
    national = {p["period"]["start"][:4]: p["value"] for p in body["series"][0]["points"]}
    assert national["2023"] == 306  # Table 4's total; the yearly totals file stops at 2022


async def test_narrower_observations_are_not_summed_into_a_series(client: AsyncClient) -> None:
    kp = await _trend(client, metric="attacks", region="Khyber Pakhtunkhwa", group_by="year")
    [series] = kp["series"]
    values = {p["period"]["start"][:4]: p["value"] for p in series["points"]}
    assert values == {"2023": 174}  # Table 4's KP row, not the sum of TTP + IS-K + ... in KP
    assert any("split further" in note for note in kp["notes"])


async def test_questions_the_data_cannot_answer_get_422_with_what_is_available(
    client: AsyncClient,
) -> None:
    cases = [
        ({"metric": "attacks", "group": "No Such Group Xyz", "group_by": "month"}, "values"),
        ({"metric": "bogus_metric"}, "metrics"),
        ({"metric": "attacks", "table": "Table 1", "group_by": "month"}, "periods"),
        ({"metric": "attacks", "group_by": "decade"}, "periods"),
        ({"metric": "attacks", "group_by": "year,month"}, "splits"),
    ]
    for params, listed in cases:
        response = await client.get("/api/v1/trends", params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("application/problem+json")
        problem = response.json()
        assert problem["detail"] and listed in problem["available"], (params, problem)
    groups = (
        await client.get(
            "/api/v1/trends", params={"metric": "attacks", "group": "No Such Group Xyz"}
        )
    ).json()["available"]["values"]["group"]
    assert "TTP" in groups and "BLA" in groups
    table_1 = (await client.get("/api/v1/trends", params=cases[2][0])).json()
    assert "calendar month" in table_1["detail"]


async def test_records_trend_before_any_import_says_so(client: AsyncClient) -> None:
    response = await client.get("/api/v1/trends", params={"metric": "killed", "source": "records"})
    assert response.status_code == 422
    assert "imported" in response.json()["detail"]


async def test_item_trends_reproduce_table_1_around_the_kabul_takeover(
    client: AsyncClient,
) -> None:
    response = await client.get("/api/v1/items/pak-afghan-taliban-engagement/trends")
    assert response.status_code == 200, response.text
    body = response.json()
    assert {"date": "2021-08-01", "precision": "month", "kind": "start", "description": None} in (
        body["key_dates"]
    )
    links = {(lk["metric"], tuple(sorted(lk["dimensions"].items()))): lk for lk in body["links"]}
    kp = links[("attacks", (("region", "Khyber Pakhtunkhwa"),))]
    assert kp["rationale"] and kp["trend"]["series"]
    [comparison] = [c for c in kp["comparisons"] if c["key_date"] == "2021-08-01"]
    assert comparison["window_months"] == 24 and comparison["alignment"] == "month"
    assert (comparison["before"]["start"], comparison["before"]["end"]) == (
        "2019-08-01",
        "2021-07-31",
    )
    assert comparison["before"]["value"] == 173 and comparison["after"]["value"] == 318
    assert comparison["change"] == 145 and comparison["change_pct"] == 83.8
    assert comparison["reported_change_pct"] == 84
    assert "23 days short" in comparison["after"]["statement"]
    assert any("24 months" in line for line in kp["coverage"])
    killed = links[("killed", ())]
    [national] = killed["comparisons"]
    assert (national["before"]["value"], national["after"]["value"]) == (504, 870)
    assert national["reported_change_pct"] == 73


async def test_item_trends_say_plainly_when_no_window_is_covered(client: AsyncClient) -> None:
    body = (await client.get("/api/v1/items/pak-afghan-border-management/trends")).json()
    table_1 = next(lk for lk in body["links"] if lk["table"] == "Table 1")
    assert table_1["comparisons"] == []
    assert table_1["coverage"] and all("no equal windows" in c for c in table_1["coverage"])
    everything = (
        await client.get(
            "/api/v1/items/pak-afghan-border-management/trends", params={"events": "all"}
        )
    ).json()
    assert len(everything["key_dates"]) > len(body["key_dates"])


async def test_item_trends_refusals(client: AsyncClient) -> None:
    missing = await client.get("/api/v1/items/no-such-item/trends")
    assert missing.status_code == 404
    for window in ("abc", "0", "999"):
        bad = await client.get(
            "/api/v1/items/pak-afghan-taliban-engagement/trends", params={"window": window}
        )
        assert bad.status_code == 422, window
        assert bad.headers["content-type"].startswith("application/problem+json")


async def test_csv_has_the_same_numbers_as_the_json(client: AsyncClient) -> None:
    params = {"metric": "attacks", "table": "Table 1", "group_by": "region"}
    body = await _trend(client, **params)
    response = await client.get("/api/v1/trends", params={**params, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    from_json = {
        (s["key"]["region"], p["period"]["start"], str(p["value"]), str(p["change"] or ""))
        for s in body["series"]
        for p in s["points"]
    }
    from_csv = {(r["key.region"], r["period_start"], r["value"], r["change"]) for r in rows}
    assert from_csv == from_json and len(rows) == 10
    assert all("Table 1" in r["sources"] for r in rows)


async def test_svg_chart_for_the_same_parameters(client: AsyncClient) -> None:
    params = {"metric": "attacks", "table": "Table 1", "group_by": "region"}
    response = await client.get(
        "/api/v1/trends/chart.svg",
        params={**params, "annotate": "pak-afghan-taliban-engagement"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SVG}svg" and root.get("width") == "100%" and root.get("viewBox")
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title is not None and "Attacks by region" in (title.text or "")
    assert desc is not None and "173" in desc.text and "318" in desc.text  # type: ignore[operator]
    texts = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "Source:" in texts and "Table 1" in texts
    assert "Pak-Afghan" in texts or "engagement" in texts.lower()  # the takeover-month marker


async def test_png_chart_for_the_same_parameters(client: AsyncClient) -> None:
    response = await client.get(
        "/api/v1/trends/chart.png",
        params={"metric": "killed", "statistics": "pips-yearly-totals", "group_by": "year"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    png = response.content
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert (width, height) == (800, 500)
    assert b"Description" in png and b"2451" in png  # the text alternative travels with it


async def test_chart_refusals_are_problems_not_images(client: AsyncClient) -> None:
    unanswerable = await client.get(
        "/api/v1/trends/chart.png", params={"metric": "attacks", "group": "No Such Group"}
    )
    assert unanswerable.status_code == 422
    assert unanswerable.headers["content-type"].startswith("application/problem+json")
    unknown_item = await client.get(
        "/api/v1/trends/chart.svg", params={"metric": "attacks", "annotate": "no-such-item"}
    )
    assert unknown_item.status_code == 404


async def test_metadata_names_sources_caveats_and_every_form(client: AsyncClient) -> None:
    params = {"metric": "attacks", "group_by": "year"}
    response = await client.get("/api/v1/trends/metadata", params=params)
    assert response.status_code == 200
    meta = response.json()
    assert meta["caption"].startswith("Source:") and "Table 4" in meta["caption"]
    assert meta["left_out"] and meta["notes"] and meta["sources"]
    assert set(meta["formats"]) == {"json", "csv", "svg", "png"}
    for url in meta["formats"].values():
        assert (await client.get(url)).status_code == 200, url
