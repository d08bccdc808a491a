"""Importing incident records over HTTP and from the CLI, on both engines.

One generated ACLED export of 3,000 rows (deterministic) is shared by the module; each test gets
its own copy of the seeded database, so every test imports what it needs itself.
"""

import asyncio
import copy
import csv
import hashlib
import io
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from httpx import AsyncClient, Response
from sqlalchemy import func, select

from app.accounts import auth
from app.accounts.models import Role
from app.accounts.service import create_key
from app.audit.models import AuditEntry
from app.incidents.models import IncidentImport, IncidentRecord, IncidentRevision
from tests.conftest import Database
from tests.incidents.acled import generate

ROWS = 3000
FILE = generate(ROWS)
BODY = FILE.csv()
IMPORT = "/api/v1/incidents/import"
CSV = {"Content-Type": "text/csv"}
OLDER = "older than the stored version"


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """Rate limits live in process memory; imports are writes, so each test starts clean."""
    auth.failed_auth.reset()
    auth.writes.reset()
    yield


@pytest.fixture
async def keys(seeded_db: Database) -> dict[Role, str]:
    async with seeded_db.session() as session, session.begin():
        return {
            role: (await create_key(session, name=f"import test {role}", role=role)).key
            for role in (Role.REVIEWER, Role.MONITOR)
        }


@pytest.fixture
def reviewer(keys: dict[Role, str]) -> dict[str, str]:
    return {**CSV, "Authorization": f"Bearer {keys[Role.REVIEWER]}"}


# --- helpers --------------------------------------------------------------------------------


def rows() -> list[dict[str, Any]]:
    """A fresh copy of the generated rows, safe to edit."""
    return copy.deepcopy(FILE.rows)


def line_of(index: int) -> int:
    """The CSV line of row `index`: the header is line 1."""
    return index + 2


async def post(
    client: AsyncClient,
    body: bytes,
    headers: dict[str, str],
    *,
    format: str = "acled",
    **params: str,
) -> Response:
    return await client.post(
        IMPORT, content=body, headers=headers, params={"format": format, **params}
    )


async def imported(
    client: AsyncClient, body: bytes, headers: dict[str, str], **params: str
) -> dict[str, Any]:
    response = await post(client, body, headers, **params)
    assert response.status_code == 200, response.text
    return response.json()


async def trend(client: AsyncClient, **params: str) -> dict[str, Any]:
    response = await client.get("/api/v1/trends", params={"source": "records", **params})
    assert response.status_code == 200, response.text
    return response.json()


async def count(db: Database, model: type) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(model))


async def snapshot(db: Database) -> dict[str, Any]:
    """What a refused import must leave exactly as it was."""
    async with db.session() as session:
        head = (
            await session.execute(
                select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
            )
        ).first()
    return {
        "records": await count(db, IncidentRecord),
        "imports": await count(db, IncidentImport),
        "revisions": await count(db, IncidentRevision),
        "audit_head": tuple(head) if head else None,
    }


async def record_ids(db: Database, dataset: str = "acled") -> dict[str, int]:
    """origin_id -> record id for every record of the data set."""
    async with db.session() as session:
        found = await session.execute(
            select(IncidentRecord.origin_id, IncidentRecord.id).where(
                IncidentRecord.dataset == dataset
            )
        )
        return dict(found.all())


async def incident(client: AsyncClient, record_id: int) -> dict[str, Any]:
    response = await client.get(f"/api/v1/incidents/{record_id}")
    assert response.status_code == 200, response.text
    return response.json()


async def id_via_api(client: AsyncClient, origin_id: str) -> int:
    """A record's id, found by paging through GET /incidents."""
    cursor = None
    while True:
        params = {"limit": 500, "dataset": "acled", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/api/v1/incidents", params=params)).json()
        for record in page["incidents"]:
            if record["origin_id"] == origin_id:
                return record["id"]
        cursor = page["next_cursor"]
        assert cursor, f"{origin_id} is not listed"


def problem(response: Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    return response.json()


def tally(report: dict[str, Any]) -> dict[str, int]:
    return {k: report[k] for k in ("added", "updated", "unchanged", "skipped")}


def sums_by_year(out: dict[str, Any]) -> dict[int, int]:
    totals: Counter[int] = Counter()
    for series in out["series"]:
        for point in series["points"]:
            totals[int(point["period"]["start"][:4])] += point["value"]
    return dict(totals)


def sums_by_key(out: dict[str, Any], key: str) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for series in out["series"]:
        totals[series["key"][key]] += sum(p["value"] for p in series["points"])
    return dict(totals)


def deletions(ids: list[str]) -> bytes:
    lines = ["event_id_cnty,deleted_timestamp", *(f"{i},1710000000" for i in ids)]
    return ("\n".join(lines) + "\n").encode()


def revise(edited: list[dict[str, Any]], indexes: list[int]) -> None:
    """A revised re-export: new fatalities and notes, and a newer timestamp."""
    for i in indexes:
        edited[i]["fatalities"] = int(edited[i]["fatalities"]) + 5
        edited[i]["notes"] = f"Revised: {edited[i]['notes']}"
        edited[i]["timestamp"] = int(edited[i]["timestamp"]) + 86_400


# --- a first import -------------------------------------------------------------------------


async def test_a_generated_export_imports_whole_and_its_trends_add_up(
    client: AsyncClient, reviewer: dict[str, str]
) -> None:
    report = await imported(client, BODY, reviewer)
    assert report["rows"] == ROWS
    assert tally(report) == {"added": ROWS, "updated": 0, "unchanged": 0, "skipped": 0}
    assert report["format"] == report["dataset"] == "acled"
    assert report["unmapped"] == {
        "region": ["Atlantis Province"],
        "district": ["Nowhere District"],
        "group": [
            "Islamic State (Pakistan)",
            "Unidentified Armed Group (Pakistan)",
            "Zorro Liberation Front",
        ],
    }

    killed = await trend(client, metric="killed", group_by="year")
    assert sums_by_year(killed) == dict(FILE.killed_by_year)
    assert all(s["key"]["dataset"] == "acled" for s in killed["series"])

    by_region = await trend(client, metric="killed", group_by="region")
    assert by_region["group_by"] == ["year", "region"]
    assert sums_by_key(by_region, "region") == dict(FILE.killed_by_province)
    assert "KPK" not in sums_by_key(by_region, "region")

    attacks = await trend(client, metric="attacks", group_by="year")
    assert sums_by_year(attacks) == dict(Counter(r["year"] for r in FILE.rows))


async def test_unknown_names_are_kept_as_written_and_known_ones_mapped(
    client: AsyncClient, reviewer: dict[str, str]
) -> None:
    await imported(client, BODY, reviewer)
    params = {"region": "Atlantis Province", "limit": 5}
    page = (await client.get("/api/v1/incidents", params=params)).json()
    assert page["incidents"]
    for record in page["incidents"]:
        assert (record["region"], record["district"]) == ("Atlantis Province", "Nowhere District")
        assert {"region", "district"} <= set(record["unmapped"])

    kpk = next(r for r in FILE.rows if r["admin1"] == "KPK")
    record = await incident(client, await id_via_api(client, str(kpk["event_id_cnty"])))
    assert record["region"] == "Khyber Pakhtunkhwa"
    assert "region" not in record["unmapped"]


# --- all or nothing, idempotent -------------------------------------------------------------


async def test_one_bad_row_refuses_the_whole_file_and_writes_nothing(
    client: AsyncClient, seeded_db: Database, reviewer: dict[str, str]
) -> None:
    await imported(client, FILE.csv(FILE.rows[:100]), reviewer)
    before = await snapshot(seeded_db)
    edited = rows()
    edited[137]["event_date"] = "2024-13-45"
    edited[2400]["fatalities"] = "-3"
    edited[2401]["fatalities"] = "x"

    body = problem(await post(client, FILE.csv(edited), reviewer), 422)

    assert {(e["line"], e["field"]) for e in body["errors"]} == {
        (line_of(137), "event_date"),
        (line_of(2400), "fatalities"),
        (line_of(2401), "fatalities"),
    }
    assert all(isinstance(e["reason"], str) and e["reason"] for e in body["errors"])
    assert (body["rows"], body["rejected"]) == (ROWS, 3)
    assert await snapshot(seeded_db) == before


async def test_importing_the_same_file_again_changes_nothing(
    client: AsyncClient, seeded_db: Database, reviewer: dict[str, str]
) -> None:
    await imported(client, BODY, reviewer)
    ids = await record_ids(seeded_db)

    again = await imported(client, BODY, reviewer)

    assert tally(again) == {"added": 0, "updated": 0, "unchanged": ROWS, "skipped": 0}
    assert await record_ids(seeded_db) == ids
    assert await count(seeded_db, IncidentRevision) == 0


async def test_a_revised_export_updates_in_place_and_keeps_the_old_values(
    client: AsyncClient, seeded_db: Database, reviewer: dict[str, str]
) -> None:
    await imported(client, BODY, reviewer)
    ids = await record_ids(seeded_db)
    changed = list(range(0, ROWS, 120))  # 25 rows
    stale = 7  # changed too, but with an older timestamp than the stored one
    edited = rows()
    revise(edited, changed)
    edited[stale]["fatalities"] = int(edited[stale]["fatalities"]) + 1
    edited[stale]["timestamp"] = int(edited[stale]["timestamp"]) - 1

    report = await imported(client, FILE.csv(edited), reviewer)

    assert len(changed) == 25
    assert tally(report) == {"added": 0, "updated": 25, "unchanged": ROWS - 26, "skipped": 1}
    assert report["skipped_reasons"] == {OLDER: 1}
    assert await record_ids(seeded_db) == ids

    old, new = FILE.rows[changed[3]], edited[changed[3]]
    record = await incident(client, ids[str(old["event_id_cnty"])])
    assert record["killed"] == new["fatalities"]
    assert record["notes"] == new["notes"]
    assert record["origin_timestamp"] == new["timestamp"]
    assert record["import_id"] == report["id"]
    [revision] = record["revisions"]
    assert revision["import_id"] == report["id"]
    assert revision["previous"]["killed"] == old["fatalities"]
    assert revision["previous"]["notes"] == old["notes"]
    assert revision["previous"]["origin_timestamp"] == old["timestamp"]

    kept = await incident(client, ids[str(FILE.rows[stale]["event_id_cnty"])])
    assert kept["killed"] == FILE.rows[stale]["fatalities"]
    assert kept["origin_timestamp"] == FILE.rows[stale]["timestamp"]
    assert kept["revisions"] == []


# --- deletions ------------------------------------------------------------------------------


async def test_an_event_missing_from_a_later_file_is_not_deleted(
    client: AsyncClient, seeded_db: Database, reviewer: dict[str, str]
) -> None:
    await imported(client, BODY, reviewer)
    ids = await record_ids(seeded_db)

    report = await imported(client, FILE.csv(FILE.rows[:100]), reviewer)

    assert (report["added"], report["unchanged"], report["deleted"]) == (0, 100, 0)
    assert await record_ids(seeded_db) == ids


async def test_a_deletion_list_deletes_the_listed_records_and_their_revisions(
    client: AsyncClient, seeded_db: Database, reviewer: dict[str, str]
) -> None:
    await imported(client, BODY, reviewer)
    edited = rows()
    revise(edited, [0, 1, 2, 500])  # three to be deleted, one to stay
    assert (await imported(client, FILE.csv(edited), reviewer))["updated"] == 4
    ids = await record_ids(seeded_db)
    gone = [str(r["event_id_cnty"]) for r in FILE.rows[:10]]

    report = await imported(
        client, deletions([*gone, "PAK999998", "PAK999999"]), reviewer, format="acled-deletions"
    )

    assert (report["rows"], report["deleted"], report["not_found"]) == (12, 10, 2)
    assert report["format"] == "acled-deletions" and report["dataset"] == "acled"
    remaining = await record_ids(seeded_db)
    assert remaining == {k: v for k, v in ids.items() if k not in gone}
    assert len(remaining) == ROWS - 10
    for origin_id in gone[:3]:
        assert (await client.get(f"/api/v1/incidents/{ids[origin_id]}")).status_code == 404
    async with seeded_db.session() as session:
        revised = list(await session.scalars(select(IncidentRevision.record_id)))
    assert revised == [ids[str(FILE.rows[500]["event_id_cnty"])]]


# --- provenance -----------------------------------------------------------------------------


async def test_every_run_is_listed_newest_first_and_audited(
    client: AsyncClient, seeded_db: Database, reviewer: dict[str, str]
) -> None:
    edited = rows()
    revise(edited, [5, 6])
    bodies = [
        (BODY, "acled", "acled-2024.csv"),
        (FILE.csv(edited), "acled", "acled-2024-revised.csv"),
        (deletions(["PAK100005", "PAK000001"]), "acled-deletions", "acled-deletions.csv"),
    ]
    reports = [
        await imported(client, body, reviewer, format=fmt, file_name=name)
        for body, fmt, name in bodies
    ]

    listed = (await client.get("/api/v1/incidents/imports")).json()

    assert [r["id"] for r in listed["imports"]] == [r["id"] for r in reversed(reports)]
    assert listed["next_cursor"] is None
    stored = ("rows", "added", "updated", "unchanged", "deleted", "skipped", "unmapped")
    for run, report, (body, fmt, name) in zip(
        listed["imports"], reversed(reports), reversed(bodies), strict=True
    ):
        assert run["file_name"] == name
        assert run["checksum"] == report["checksum"] == hashlib.sha256(body).hexdigest()
        assert run["format"] == fmt
        assert run["dataset"] == "acled"
        assert run["actor"].startswith("reviewer:import test reviewer (key ")
        assert {k: run[k] for k in stored} == {k: report[k] for k in stored}
    assert [r["added"] for r in reports] == [ROWS, 0, 0]
    assert [r["updated"] for r in reports] == [0, 2, 0]
    assert [r["deleted"] for r in reports] == [0, 0, 1]

    async with seeded_db.session() as session:
        entries = list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.action == "incidents.import")
                .order_by(AuditEntry.id)
            )
        )
    assert [(e.target_type, e.target) for e in entries] == [
        ("incident_import", str(r["id"])) for r in reports
    ]
    assert [e.details["checksum"] for e in entries] == [r["checksum"] for r in reports]
    assert all(e.actor == reports[0]["actor"] for e in entries)
    verify = (await client.get("/api/v1/audit/verify")).json()
    assert verify == {
        "intact": True,
        "entries": await count(seeded_db, AuditEntry),
        "first_broken_id": None,
        "problem": None,
    }


# --- refusals -------------------------------------------------------------------------------


def without_column(column: str, source: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    columns = [c for c in source[0] if c != column]
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(source)
    return buffer.getvalue().encode()


async def test_refused_requests_write_nothing(
    client: AsyncClient, seeded_db: Database, keys: dict[Role, str], reviewer: dict[str, str]
) -> None:
    small = FILE.csv(FILE.rows[:50])
    before = await snapshot(seeded_db)

    problem(await post(client, small, CSV), 401)
    monitor = {**CSV, "Authorization": f"Bearer {keys[Role.MONITOR]}"}
    problem(await post(client, small, monitor), 403)
    as_json = {**reviewer, "Content-Type": "application/json"}
    problem(await post(client, small, as_json), 415)
    problem(await post(client, small, reviewer, format="xyz"), 422)

    missing = problem(
        await post(client, without_column("fatalities", FILE.rows[:50]), reviewer), 422
    )
    assert [(e["line"], e["field"]) for e in missing["errors"]] == [(1, "fatalities")]

    latin1 = b"event_id_cnty,event_date,fatalities\nPAK1,2024-01-01,3\nPAK2,2024-01-02,\xe9\n"
    undecodable = problem(await post(client, latin1, reviewer), 422)
    assert "UTF-8" in undecodable["detail"]

    repeated = rows()[:50]
    repeated[40]["event_id_cnty"] = repeated[10]["event_id_cnty"]
    duplicate = problem(await post(client, FILE.csv(repeated), reviewer), 422)
    [error] = duplicate["errors"]
    assert (error["line"], error["field"]) == (line_of(40), "event_id_cnty")
    assert f"line {line_of(10)}" in error["reason"]

    assert await snapshot(seeded_db) == before


async def test_malformed_deletion_lists_and_rows_are_refused_with_their_lines(
    client: AsyncClient, seeded_db: Database, reviewer: dict[str, str]
) -> None:
    before = await snapshot(seeded_db)
    header_only = problem(
        await post(
            client, b"event_id_cnty,deleted_timestamp\n", reviewer, format="acled-deletions"
        ),
        422,
    )
    assert "no rows" in header_only["errors"][0]["reason"]
    huge = b"event_id_cnty,deleted_timestamp\nPAK1," + b"x" * 200_000 + b"\n"
    unreadable = problem(await post(client, huge, reviewer, format="acled-deletions"), 422)
    assert "unreadable CSV" in unreadable["errors"][0]["reason"]

    spanning = rows()[:5]
    spanning[2]["notes"] = "two\nlines"
    spanning[3]["fatalities"] = "x"
    refused = problem(await post(client, FILE.csv(spanning), reviewer), 422)
    # Row 3 starts on line 5 even though row 2's notes took two lines.
    assert [(e["line"], e["field"]) for e in refused["errors"]] == [(6, "fatalities")]
    assert await snapshot(seeded_db) == before


async def test_two_imports_of_one_file_at_once_add_it_once(
    client: AsyncClient, seeded_db: Database, reviewer: dict[str, str]
) -> None:
    body = FILE.csv(FILE.rows[:500])
    first, second = await asyncio.gather(post(client, body, reviewer), post(client, body, reviewer))
    assert first.status_code == second.status_code == 200, (first.text, second.text)
    assert sorted(r.json()["added"] for r in (first, second)) == [0, 500]
    assert sorted(r.json()["unchanged"] for r in (first, second)) == [0, 500]
    assert await count(seeded_db, IncidentRecord) == 500


async def test_the_listing_keeps_what_a_deletion_run_did_not_find(
    client: AsyncClient, reviewer: dict[str, str]
) -> None:
    await imported(client, FILE.csv(FILE.rows[:20]), reviewer)
    report = await imported(
        client, deletions(["PAK100000", "PAK999999"]), reviewer, format="acled-deletions"
    )
    [listed, _] = (await client.get("/api/v1/incidents/imports")).json()["imports"]
    assert (listed["deleted"], listed["not_found"]) == (report["deleted"], report["not_found"])
    assert (listed["deleted"], listed["not_found"]) == (1, 1)


# --- Nigran's own format --------------------------------------------------------------------

NIGRAN_CSV = b"""\
id,date,date_precision,region,district,location,group,target,event_type,tactic,killed,injured,source,notes
N-1,2023-03-04,day,KPK,DI Khan,Kulachi,Pakistani Taliban,Police,Attack,IED,3,7,Dawn,Roadside bomb.
N-2,2023-07-19,day,Khyber Pakhtunkhwa,Bannu,Bannu,TTP,Security forces,Attack,Suicide attack,5,11,The News,
N-3,2024-01-02,month,KP,Peshawar,Peshawar,,Civilians,Attack,Firing,1,2,Dawn,
N-4,2024-05-30,day,Balochistan,Quetta,Quetta,Baloch Liberation Army,Civilians,Attack,IED,2,4,Dawn,Not in KP.
"""


async def test_the_nigran_format_maps_aliases_and_feeds_trends(
    client: AsyncClient, reviewer: dict[str, str]
) -> None:
    report = await imported(client, NIGRAN_CSV, reviewer, format="nigran")
    assert (report["format"], report["dataset"], report["added"]) == ("nigran", "nigran", 4)
    assert report["unmapped"] == {}

    everything = (await client.get("/api/v1/incidents", params={"dataset": "nigran"})).json()
    assert [r["group"] for r in everything["incidents"]] == ["TTP", "TTP", None, "BLA"]
    params = {"dataset": "nigran", "region": "KP"}
    kp = (await client.get("/api/v1/incidents", params=params)).json()["incidents"]
    assert [r["origin_id"] for r in kp] == ["N-1", "N-2", "N-3"]
    assert {r["region"] for r in kp} == {"Khyber Pakhtunkhwa"}
    first = kp[0]
    assert (first["district"], first["group"]) == ("Dera Ismail Khan", "TTP")
    assert (first["killed"], first["injured"], first["target"]) == (3, 7, "Police")
    assert first["unmapped"] == [] and first["dataset"] == "nigran"
    assert kp[2]["date_precision"] == "month" and kp[2]["group"] is None

    injured = await trend(client, metric="injured", dataset="nigran", group_by="year")
    assert [s["key"] for s in injured["series"]] == [{"dataset": "nigran"}]
    assert sums_by_year(injured) == {2023: 18, 2024: 6}

    response = await client.get("/api/v1/incidents", params={"dataset": "nigran", "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.text)))
    assert len(table) == 1 + 4
    assert "origin_id" in table[0] and "region" in table[0]
    assert [row[table[0].index("origin_id")] for row in table[1:]] == ["N-1", "N-2", "N-3", "N-4"]


# --- the CLI --------------------------------------------------------------------------------


async def run_cli(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    """`nigran ...` in its own process against the test's database (the CLI runs its own loop)."""
    command = [str(Path(sys.executable).parent / "nigran"), *args]
    env = {**os.environ, "DATABASE_URL": db.url}
    return await anyio.to_thread.run_sync(
        lambda: subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    )


async def test_the_cli_imports_a_file_and_refuses_a_bad_one(
    seeded_db: Database, tmp_path: Path
) -> None:
    good = tmp_path / "acled-2024.csv"
    good.write_bytes(BODY)

    done = await run_cli(seeded_db, "import", "incidents", str(good), "--format", "acled")

    assert done.returncode == 0, done.stderr
    assert f"{ROWS} rows, {ROWS} added, 0 updated, 0 unchanged" in done.stdout
    assert "unmapped region (1), kept as written: Atlantis Province" in done.stdout
    assert len(await record_ids(seeded_db)) == ROWS
    async with seeded_db.session() as session:
        run = (await session.scalars(select(IncidentImport))).one()
    assert (run.file_name, run.actor, run.added) == ("acled-2024.csv", "cli:cli", ROWS)

    before = await snapshot(seeded_db)
    edited = rows()
    edited[137]["event_date"] = "2024-13-45"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(FILE.csv(edited))

    refused = await run_cli(seeded_db, "import", "incidents", str(bad), "--format", "acled")

    assert refused.returncode == 1
    assert f"line {line_of(137)}: event_date:" in refused.stderr
    assert await snapshot(seeded_db) == before


async def test_item_trends_from_records_compare_equal_windows_around_a_key_date(
    client: AsyncClient, reviewer: dict[str, str]
) -> None:
    spread = generate(2000, seed=5, years=(2019, 2020, 2021, 2022, 2023))
    await imported(client, spread.csv(), reviewer)

    response = await client.get(
        "/api/v1/items/pak-afghan-taliban-engagement/trends",
        params={"source": "records", "window": "12"},
    )

    assert response.status_code == 200, response.text
    links = {(lk["metric"], tuple(lk["dimensions"].items())): lk for lk in response.json()["links"]}
    kp = links[("attacks", (("region", "Khyber Pakhtunkhwa"),))]
    [comparison] = [c for c in kp["comparisons"] if c["alignment"] == "month"]
    assert (comparison["before"]["start"], comparison["after"]["end"]) == (
        "2020-08-01",
        "2022-07-31",
    )

    def kp_attacks(start: str, end: str) -> int:
        return sum(
            1
            for r in spread.rows
            if r["admin1"] in ("Khyber Pakhtunkhwa", "KPK") and start <= str(r["event_date"]) <= end
        )

    assert comparison["before"]["value"] == kp_attacks("2020-08-01", "2021-07-31")
    assert comparison["after"]["value"] == kp_attacks("2021-08-01", "2022-07-31")
    assert comparison["change"] == comparison["after"]["value"] - comparison["before"]["value"]
    assert links[("killed", ())]["unavailable"] is None
    assert kp["trend_url"].startswith("/api/v1/trends?") and "source=records" in kp["trend_url"]
