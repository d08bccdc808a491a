"""SQL and full-text-search metacharacters, NUL bytes, control characters, very long strings and
Urdu/RTL/emoji text in every text parameter of every GET endpoint and page are harmless: each
answer is 2xx or 4xx (3xx for a page asking to sign in), never 5xx; the API's 4xx are
problem+json; a page never reflects markup unescaped.

The endpoints and their parameters are read from the app (tests/security/payloads.py), so a new
endpoint is swept without editing this file. Run with -s to see the status counts.
"""

import asyncio
import re
from collections import Counter
from dataclasses import dataclass

from httpx import AsyncClient, Response

from app.main import create_app
from tests.security.conftest import assert_problem, bearer, is_problem
from tests.security.payloads import (
    HOSTILE,
    HUGE_INTEGERS,
    IMG,
    SCRIPT,
    Target,
    api_targets,
    page_targets,
    plan,
)

CONCURRENCY = 4


@dataclass
class Sent:
    target: Target
    param: str
    label: str
    url: str
    response: Response


async def _sweep(client: AsyncClient, targets: list[Target], headers: dict) -> list[Sent]:
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(target: Target, param: str, label: str, url: str) -> Sent:
        async with limit:
            response = await client.get(url, headers=headers if target.authenticated else {})
        return Sent(target, param, label, url, response)

    jobs = [one(*planned) for planned in plan(targets)]
    return await asyncio.gather(*jobs)


def _failures(sent: list[Sent]) -> list[str]:
    failures = []
    for s in sent:
        status = s.response.status_code
        where = f"{s.url[:160]} ({s.param}={s.label})"
        allowed = (
            (200 <= status < 500) if s.target.page else (200 <= status < 300 or 400 <= status < 500)
        )
        if not allowed:
            failures.append(f"{status} {where}: {s.response.text[:200]}")
        elif status >= 400 and not s.target.page and not is_problem(s.response):
            failures.append(f"{status} not problem+json {where}")
        content_type = s.response.headers.get("content-type", "")
        if content_type.startswith("text/html") and (
            SCRIPT in s.response.text or IMG in s.response.text
        ):
            failures.append(f"{status} reflects markup unescaped {where}")
    return failures


def _report(kind: str, sent: list[Sent]) -> None:
    statuses = Counter(s.response.status_code for s in sent)
    targets = {s.target.path for s in sent}
    params = {(s.target.path, s.param) for s in sent}
    print(
        f"\n{kind}: {len(sent)} requests, {len(targets)} endpoints, {len(params)} parameters, "
        f"{len(HOSTILE)} hostile values; statuses {dict(sorted(statuses.items()))}"
    )


def test_every_text_parameter_is_found() -> None:
    """The sweep reaches what the brief names; if a route moves, this says so loudly."""
    app = create_app()
    api = {t.path: t for t in api_targets(app)}
    assert {"q", "type", "cursor"} <= set(api["/api/v1/search"].text_query)
    assert {"q", "institution", "parent"} <= set(api["/api/v1/items"].text_query)
    assert {"region", "district", "group", "table", "statistics"} <= set(
        api["/api/v1/stats"].text_query
    )
    assert {"region", "group", "metric"} <= set(api["/api/v1/trends"].text_query)
    assert {"item", "institution"} <= set(api["/api/v1/timeline"].text_query)
    assert api["/api/v1/groups/{slug}"].text_path == ["slug"]
    assert api["/api/v1/places/{slug}"].text_path == ["slug"]
    assert api["/api/v1/incidents/{record_id}"].int_path == ["record_id"]
    pages = {t.path: t for t in page_targets(app)}
    assert {"q", "type"} <= set(pages["/search"].text_query)
    assert {"item", "institution"} <= set(pages["/timeline"].text_query)
    assert "metric" in pages["/trends"].text_query
    assert pages["/items/{slug}"].text_path == ["slug"]


async def test_api_parameters(hostile: AsyncClient, keys: dict[str, str]) -> None:
    targets = api_targets(hostile._transport.app)  # type: ignore[attr-defined]
    sent = await _sweep(hostile, targets, bearer(keys["admin"]))
    _report("API GET parameters", sent)
    failures = _failures(sent)
    assert not failures, f"{len(failures)} of {len(sent)}:\n" + "\n".join(failures[:40])


async def test_page_parameters(hostile: AsyncClient) -> None:
    targets = page_targets(hostile._transport.app)  # type: ignore[attr-defined]
    sent = await _sweep(hostile, targets, {})
    _report("HTML page parameters", sent)
    failures = _failures(sent)
    assert not failures, f"{len(failures)} of {len(sent)}:\n" + "\n".join(failures[:40])


async def test_integer_ids_in_write_paths(hostile: AsyncClient, keys: dict[str, str]) -> None:
    """Out-of-range ids in the approve/reject paths (from the schema) and the review pages."""
    schema = hostile._transport.app.openapi()  # type: ignore[attr-defined]
    paths = [
        path
        for path, operations in schema["paths"].items()
        if "post" in operations
        and any(
            p["in"] == "path" and p.get("schema", {}).get("type") == "integer"
            for p in operations["post"].get("parameters", [])
        )
    ]
    assert len(paths) >= 6
    statuses: Counter[int] = Counter()
    body = {"reason": "Not supported by the evidence."}
    for path in paths:
        for number in HUGE_INTEGERS:
            url = re.sub(r"\{[a-z_]+\}", number, path)
            response = await hostile.post(url, json=body, headers=bearer(keys["reviewer"]))
            statuses[response.status_code] += 1
            assert_problem(response, 404, 422)
    print(f"\ninteger ids in write paths: {sum(statuses.values())} requests, {dict(statuses)}")
