"""A real uvicorn server on a seeded copy of each engine, keys of every role in it, and real
ids (items, groups, pending proposals, ...) so fuzzed requests also reach existing resources."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
import pytest

from app.accounts.models import Role
from app.accounts.service import create_key
from tests import servers
from tests.conftest import Database

# Fuzzing sends thousands of writes and failed authentications from one address in a minute.
UNLIMITED = {
    "NIGRAN_WRITES_PER_MINUTE": "100000",
    "NIGRAN_FAILED_AUTH_PER_MINUTE": "100000",
    "NIGRAN_CORRECTIONS_PER_HOUR": "100000",
}
EVIDENCE = [
    {"url": "https://example.org/report", "title": "Fuzz source", "published": "2025-01-10"}
]


@dataclass
class Keys:
    """Full keys by role, and keys the fuzzer may revoke or rotate (never the ones it uses)."""

    by_role: dict[str, str]
    prefixes: dict[str, str]  # role -> prefix of the key above
    expendable_prefixes: list[str]


@dataclass
class Server:
    base: str
    engine: str
    keys: Keys
    # Existing values per (path template, parameter): ids the fuzzer may also pick.
    known: dict[tuple[str, str], list[object]] = field(default_factory=dict)


@contextmanager
def uvicorn_server(database_url: str) -> Iterator[str]:
    """The server under fuzzing, with rate limits out of the way."""
    with servers.uvicorn_server(database_url, UNLIMITED) as base:
        yield base


@pytest.fixture
async def fuzz_keys(seeded_db: Database) -> Keys:
    async with seeded_db.session() as session, session.begin():
        issued = {
            role.value: await create_key(session, name=f"fuzz {role}", role=role) for role in Role
        }
        expendable = [
            (await create_key(session, name=f"fuzz expendable {n}", role=Role.MONITOR)).prefix
            for n in range(4)
        ]
    return Keys(
        {role: key.key for role, key in issued.items()},
        {role: key.prefix for role, key in issued.items()},
        expendable,
    )


def _known_values(base: str, keys: Keys) -> dict[tuple[str, str], list[object]]:
    """Real ids for every path parameter, some of them pending proposals made here."""
    api = f"{base}/api/v1"
    monitor = {"Authorization": f"Bearer {keys.by_role['monitor']}"}
    with httpx.Client(base_url=api, timeout=30) as http:
        slugs = [i["slug"] for i in http.get("/items", params={"limit": 40}).json()["items"]]
        groups = [g["slug"] for g in http.get("/groups").json()][:20]
        places = [p["slug"] for p in http.get("/places").json()][:20]
        records = [
            r["id"] for r in http.get("/incidents", params={"limit": 20}).json()["incidents"]
        ]
        conversations = [
            http.post("/chat", json={"message": question}).json()["conversation_id"]
            for question in ("How many attacks were there in 2023?", "What is NACTA?")
        ]
        updates, events, corrections = [], [], []
        for slug in slugs[:8]:
            status = {
                "status": "implemented",
                "note": "Fuzz baseline proposal.",
                "effective_date": "2025-01-15",
                "evidence": EVIDENCE,
            }
            made = http.post(f"/items/{slug}/status-updates", json=status, headers=monitor)
            updates.append(made.raise_for_status().json()["id"])
            event = {
                "date": "2025-01-15",
                "type": "announced",
                "description": "Fuzz baseline event.",
                "evidence": EVIDENCE,
            }
            made = http.post(f"/items/{slug}/events", json=event, headers=monitor)
            events.append(made.raise_for_status().json()["id"])
            correction = {
                "message": "Fuzz baseline correction.",
                "proposed_status": "stalled",
                "evidence": EVIDENCE,
            }
            made = http.post(f"/items/{slug}/corrections", json=correction)
            corrections.append(made.raise_for_status().json()["id"])
    item_paths = [
        "/api/v1/items/{slug}",
        "/api/v1/items/{slug}/status-updates",
        "/api/v1/items/{slug}/events",
        "/api/v1/items/{slug}/corrections",
        "/api/v1/items/{slug}/timeline",
        "/api/v1/items/{slug}/trends",
    ]
    known: dict[tuple[str, str], list[object]] = {(p, "slug"): slugs for p in item_paths}
    known |= {
        ("/api/v1/groups/{slug}", "slug"): groups,
        ("/api/v1/places/{slug}", "slug"): places,
        ("/api/v1/incidents/{record_id}", "record_id"): records,
        ("/api/v1/chat/conversations/{conversation_id}", "conversation_id"): conversations,
        ("/api/v1/keys/{prefix}/rotate", "prefix"): keys.expendable_prefixes,
        ("/api/v1/keys/{prefix}/revoke", "prefix"): keys.expendable_prefixes,
    }
    for decision in ("approve", "reject"):
        known[(f"/api/v1/status-updates/{{update_id}}/{decision}", "update_id")] = updates
        known[(f"/api/v1/events/{{event_id}}/{decision}", "event_id")] = events
        known[(f"/api/v1/corrections/{{correction_id}}/{decision}", "correction_id")] = corrections
    return {k: v for k, v in known.items() if v}


@pytest.fixture
def fuzz_server(seeded_db: Database, fuzz_keys: Keys) -> Iterator[Server]:
    with uvicorn_server(seeded_db.url) as base:
        yield Server(base, seeded_db.name, fuzz_keys, _known_values(base, fuzz_keys))
