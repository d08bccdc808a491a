"""CSV formula injection: text that a spreadsheet would run is stored exactly and exported inert.

Formulas arrive through the CSV incident import (every text column), a status-update note, a
timeline event's description and a reviewer-created item's title and summary. The JSON API
returns them as written; every endpoint that offers `format=csv` (read from the OpenAPI schema)
writes them with a leading single quote (OWASP), while numbers, negative ones included, are
written unchanged.
"""

import csv
import io
import re

from httpx import AsyncClient

from app.core.export import FORMULA_STARTS
from tests.security.conftest import bearer

DATASET = "formula-test"
FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+2",
    "=1+1\n=2+2",
    "-",
]
TEXT_COLUMNS = ("location", "target", "event_type", "tactic", "source", "notes")
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
SLUG = "nacta"
EVIDENCE = [{"url": "https://example.org/r", "title": "A report", "published": "2025-01-10"}]


def _import_file() -> bytes:
    buffer = io.StringIO()
    columns = ["id", "date", *TEXT_COLUMNS, "killed", "injured", "latitude", "longitude"]
    # Every cell quoted: csv quotes a lone "\r" only if it is part of the line terminator.
    writer = csv.DictWriter(buffer, fieldnames=columns, quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for number, formula in enumerate(FORMULAS):
        row = {"id": f"f-{number}", "date": f"2024-03-{number + 1:02d}", "killed": 2, "injured": 0}
        row |= {column: formula for column in TEXT_COLUMNS}
        row |= {"latitude": -33.5 - number, "longitude": -70.25}  # negative numbers, as numbers
        writer.writerow(row)
    return buffer.getvalue().encode()


def _dangerous(cell: str) -> bool:
    """A cell a spreadsheet would run: a formula start that is not a plain number."""
    return cell.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(cell)


def _csv_endpoints(app) -> list[tuple[str, dict[str, str]]]:  # type: ignore[no-untyped-def]
    """GET endpoints whose `format` parameter offers csv, with sane values for the rest."""
    urls = []
    sane = {"metric": "attacks", "since": "2000-01-01", "slug": SLUG}
    for path, operations in app.openapi()["paths"].items():
        parameters = operations.get("get", {}).get("parameters", [])
        formats = [p for p in parameters if p["name"] == "format" and p["in"] == "query"]
        if not formats or "csv" not in str(formats[0].get("schema")):
            continue
        query = {
            p["name"]: sane[p["name"]]
            for p in parameters
            if p.get("required") and p["in"] == "query"
        }
        for p in parameters:
            if p["in"] == "path":
                path = path.replace("{" + p["name"] + "}", sane[p["name"]])
        if any(p["name"] == "limit" for p in parameters):
            query["limit"] = "500"  # the largest page: as many rows as one export holds
        urls.append((path, {**query, "format": "csv"}))
    return urls


async def _write_formulas(client: AsyncClient, keys: dict[str, str]) -> None:
    reviewer, monitor = bearer(keys["reviewer"]), bearer(keys["monitor"])
    imported = await client.post(
        "/api/v1/incidents/import",
        params={"format": "nigran", "dataset": DATASET},
        content=_import_file(),
        headers={**reviewer, "Content-Type": "text/csv"},
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["added"] == len(FORMULAS)
    update = await client.post(
        f"/api/v1/items/{SLUG}/status-updates",
        json={
            "status": "in_progress",
            "note": FORMULAS[0],
            "effective_date": "2025-02-01",
            "evidence": EVIDENCE,
        },
        headers=monitor,
    )
    event = await client.post(
        f"/api/v1/items/{SLUG}/events",
        json={
            "date": "2025-02-02",
            "type": "amended",
            "description": "@SUM(1) amended by the assembly",
            "evidence": EVIDENCE,
        },
        headers=monitor,
    )
    for proposed, kind in ((update, "status-updates"), (event, "events")):
        assert proposed.status_code == 201, proposed.text
        approved = await client.post(
            f"/api/v1/{kind}/{proposed.json()['id']}/approve", json={}, headers=reviewer
        )
        assert approved.status_code == 200, approved.text
    item = await client.post(
        "/api/v1/items",
        json={
            "slug": "formula-law",
            "kind": "legislation",
            "title": '=HYPERLINK("http://evil.example","A law")',
            "summary": "+cmd|' /C calc'!A0 a summary that starts with a formula.",
            "themes": ["legal_framework"],
            "sources": [{"doc": "pips-2024", "section": "6.1.3"}],
        },
        headers=reviewer,
    )
    assert item.status_code == 201, item.text


async def test_formulas_are_stored_exactly_and_exported_inert(
    hostile: AsyncClient, keys: dict[str, str]
) -> None:
    await _write_formulas(hostile, keys)

    stored = await hostile.get("/api/v1/incidents", params={"dataset": DATASET, "limit": 100})
    assert stored.status_code == 200
    records = {r["origin_id"]: r for r in stored.json()["incidents"]}
    for number, formula in enumerate(FORMULAS):
        record = records[f"f-{number}"]
        for column in TEXT_COLUMNS:  # the import trims surrounding whitespace, nothing else
            assert record[column] == formula.strip(), (column, record[column])
        assert record["latitude"] == -33.5 - number and record["longitude"] == -70.25
    item = (await hostile.get("/api/v1/items/formula-law")).json()
    assert item["title"] == '=HYPERLINK("http://evil.example","A law")'

    exported = await hostile.get("/api/v1/incidents", params={"dataset": DATASET, "format": "csv"})
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(rows) == len(FORMULAS)
    for row in rows:
        formula = FORMULAS[int(row["origin_id"].removeprefix("f-"))].strip()
        for column in TEXT_COLUMNS:
            assert row[column] == "'" + formula, (column, row[column])
        assert NUMBER.fullmatch(row["latitude"]) and row["latitude"].startswith("-")
        assert row["longitude"] == "-70.25"

    seen: dict[str, int] = {}
    for path, params in _csv_endpoints(hostile._transport.app):  # type: ignore[attr-defined]
        response = await hostile.get(path, params=params)
        assert response.status_code == 200, (path, response.text[:300])
        assert response.headers["content-type"].startswith("text/csv"), path
        table = list(csv.reader(io.StringIO(response.text)))
        cells = [cell for row in table[1:] for cell in row]
        bad = [cell for cell in cells if _dangerous(cell)]
        assert not bad, (path, bad[:5])
        seen[path] = len(table) - 1
    print(f"\nCSV exports checked (rows): {seen}")
    assert len(seen) >= 6

    timeline = await hostile.get(f"/api/v1/items/{SLUG}/timeline", params={"format": "csv"})
    descriptions = [r["description"] for r in csv.DictReader(io.StringIO(timeline.text))]
    assert "'@SUM(1) amended by the assembly" in descriptions
    changes = await hostile.get("/api/v1/changes", params={"since": "2000-01-01", "format": "csv"})
    notes = [r["note"] for r in csv.DictReader(io.StringIO(changes.text))]
    assert "'" + FORMULAS[0] in notes
    items = await hostile.get("/api/v1/items", params={"format": "csv", "limit": 500})
    titles = {r["slug"]: r["title"] for r in csv.DictReader(io.StringIO(items.text))}
    assert titles.get("formula-law") == "'" + item["title"]


async def test_negative_numbers_in_numeric_columns_are_unchanged(hostile: AsyncClient) -> None:
    """A trend's changes fall as often as they rise: they stay numbers in the CSV."""
    response = await hostile.get(
        "/api/v1/trends",
        params={"metric": "attacks", "statistics": "pips-yearly-totals", "group_by": "year"},
    )
    points = [p for s in response.json()["series"] for p in s["points"]]
    falls = [p["change"] for p in points if p["change"] is not None and p["change"] < 0]
    assert falls, "the seeded totals hold at least one fall"
    exported = await hostile.get(
        "/api/v1/trends",
        params={
            "metric": "attacks",
            "statistics": "pips-yearly-totals",
            "group_by": "year",
            "format": "csv",
        },
    )
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    changes = [row["change"] for row in rows if row["change"]]
    assert all(NUMBER.fullmatch(c) for c in changes), changes
    assert {str(f) for f in falls} <= set(changes)
