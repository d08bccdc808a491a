"""Hostile request bodies and paths are refused cleanly, on both engines:

- bodies over the limit answer 413 problem+json, declared (Content-Length) or streamed
  (chunked, no Content-Length), and change nothing;
- deeply nested or huge JSON answers a 4xx problem+json at once (never a 500 or a
  RecursionError); the times are printed (run with -s), not asserted;
- SQL/FTS metacharacters, NUL bytes, very long and Urdu/RTL/emoji text in the text fields of
  the write endpoints and the page forms answer 2xx or 4xx, never 5xx;
- path traversal in slugs and under /static answers 404 (or 400), never a file.

The sweep of GET parameters is in test_parameters.py; markup in test_markup.py; CSV in
test_csv.py; keys in test_keys.py.
"""

import time
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from httpx import ASGITransport, AsyncClient, Response
from sqlalchemy import func, select

from app.accounts import auth
from app.chat.models import ChatConversation
from app.core.config import get_settings
from app.main import create_app
from app.tracking import router as tracking_router
from tests.conftest import Database
from tests.security.conftest import assert_problem, bearer, is_problem
from tests.security.payloads import CORE, HOSTILE, IMG, SCRIPT
from tests.web.test_review import Page, sign_in

LIMIT = get_settings().max_body_bytes
JSON = {"Content-Type": "application/json"}
EVIDENCE = [{"url": "https://example.org/r", "title": "A report", "published": "2025-01-10"}]
STATUS = {"status": "in_progress", "note": "A note.", "effective_date": "2025-01-15"}
TEXTS = {label: value for label, value in HOSTILE.items() if isinstance(value, str)}
# Writes are slow (audit, search index): fields past the first get the CORE values.
CORE_TEXTS = {label: TEXTS[label] for label in CORE if label in TEXTS}


async def _stream(body: bytes, chunk: int = 8192) -> AsyncIterator[bytes]:
    """The body in chunks: httpx then sends it chunked, without Content-Length."""
    for start in range(0, len(body), chunk):
        yield body[start : start + chunk]


def _writes(keys: dict[str, str]) -> list[tuple[str, dict[str, str]]]:
    """(path, headers) of JSON write endpoints, each with a key that may call it."""
    return [
        ("/api/v1/chat", {}),
        ("/api/v1/chat/stream", {}),
        ("/api/v1/items/nacta/corrections", {}),
        ("/api/v1/items/nacta/status-updates", bearer(keys["monitor"])),
        ("/api/v1/items/nacta/events", bearer(keys["monitor"])),
        ("/api/v1/items", bearer(keys["reviewer"])),
        ("/api/v1/status-updates/1/reject", bearer(keys["reviewer"])),
    ]


async def _conversations(db: Database) -> int:
    async with db.session() as session:
        return await session.scalar(select(func.count()).select_from(ChatConversation))


# --- 1. oversized bodies ----------------------------------------------------------------------


async def test_oversized_bodies_are_413(
    hostile: AsyncClient, keys: dict[str, str], seeded_db: Database
) -> None:
    before = await _conversations(seeded_db)
    message = b'{"message": "' + b"a" * LIMIT + b'"}'
    statuses: Counter[str] = Counter()
    for path, headers in [*_writes(keys), ("/chat", {}), ("/signin", {})]:
        form = path in ("/chat", "/signin")
        body = b"message=" + b"a" * LIMIT if form else message
        kind = {"Content-Type": "application/x-www-form-urlencoded"} if form else JSON
        declared = await hostile.post(path, content=body, headers={**headers, **kind})
        streamed = await hostile.post(path, content=_stream(body), headers={**headers, **kind})
        assert "content-length" not in streamed.request.headers
        assert streamed.request.headers["transfer-encoding"] == "chunked"
        for way, response in (("declared", declared), ("chunked", streamed)):
            body_out = assert_problem(response, 413)
            assert str(LIMIT) in body_out["detail"], (path, way)
            statuses[f"{way} {response.status_code}"] += 1
    print(f"\noversized bodies: {sum(statuses.values())} requests, {dict(statuses)}")
    assert await _conversations(seeded_db) == before  # nothing was answered, nothing stored


async def test_a_body_at_the_limit_is_read(hostile: AsyncClient) -> None:
    """The limit refuses what is over it, not what is at it: a body of exactly LIMIT bytes
    is parsed (and refused by validation for its over-long message, a 422)."""
    head, tail = b'{"message": "', b'"}'
    body = head + b"a" * (LIMIT - len(head) - len(tail)) + tail
    assert len(body) == LIMIT
    for content in (body, _stream(body)):
        assert_problem(await hostile.post("/api/v1/chat", content=content, headers=JSON), 422)


@pytest.fixture
async def small_import_client(
    seeded_db: Database, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[AsyncClient]:
    """The app with a 4 KiB import limit, so the import's own limit can be crossed cheaply."""
    monkeypatch.setattr(get_settings(), "max_import_bytes", 4096)
    app = create_app(seeded_db.engine)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_import_over_its_own_limit_is_413(
    small_import_client: AsyncClient, keys: dict[str, str]
) -> None:
    headers = {**bearer(keys["reviewer"]), "Content-Type": "text/csv"}
    body = b"id,date\n" + b"x-1,2024-01-01\n" * 400
    url = "/api/v1/incidents/import?format=nigran"
    for content in (body, _stream(body)):
        response = await small_import_client.post(url, content=content, headers=headers)
        assert "4096" in assert_problem(response, 413)["detail"]


# --- 2. deeply nested and huge JSON -----------------------------------------------------------


def _nested(depth: int, kind: str) -> bytes:
    if kind == "arrays":
        return b"[" * depth + b"]" * depth
    return b'{"a":' * depth + b"1" + b"}" * depth


HUGE = {
    "number-60k-digits": b'{"message": ' + b"9" * 60_000 + b"}",
    "float-overflow": b'{"message": "hi", "conversation_id": 1e999999}',
    "string-60k": b'{"message": "' + b"a" * 60_000 + b'"}',
    "string-60k-escapes": b'{"message": "' + b"\\u0000" * 10_000 + b'"}',
    "many-keys": b"{" + b",".join(b'"k%d":1' % i for i in range(6_000)) + b"}",
}


async def test_nested_and_huge_json_is_refused_fast(
    hostile: AsyncClient, keys: dict[str, str]
) -> None:
    timings: list[tuple[float, str, str, int]] = []
    bodies = {
        f"{kind} x{depth:,}": _nested(depth, kind)
        for kind in ("arrays", "objects")
        for depth in (100, 900, 5_000, 10_000, 100_000)
        if len(_nested(depth, kind)) <= LIMIT or depth == 100_000
    }
    bodies |= HUGE
    for label, body in bodies.items():
        for path, headers in _writes(keys):
            started = time.perf_counter()
            response = await hostile.post(path, content=body, headers={**headers, **JSON})
            elapsed = time.perf_counter() - started
            timings.append((elapsed, label, path, response.status_code))
            statuses = (413,) if len(body) > LIMIT else (400, 413, 422)
            assert_problem(response, *statuses)
            assert "Recursion" not in response.text
    print(f"\nnested/huge JSON: {len(timings)} requests, bodies up to {LIMIT} bytes")
    print("statuses", dict(Counter(status for *_, status in timings)))
    slowest: dict[str, tuple[float, int]] = {}
    for elapsed, label, _, status in timings:
        if elapsed >= slowest.get(label, (0.0, 0))[0]:
            slowest[label] = (elapsed, status)
    for label, (elapsed, status) in slowest.items():
        print(
            f"  {label:24} {len(bodies[label]):>7} bytes  slowest {elapsed * 1000:7.1f} ms ({status})"
        )


# --- 3. hostile text in request bodies and forms ------------------------------------------------


def _body_fields() -> list[tuple[str, str, dict]]:
    """(path, field, body template) of text fields in JSON bodies: the chat's message gets every
    value, the rest the CORE values."""
    return [
        ("/api/v1/chat", "message", {"message": None}),
        ("/api/v1/items/nacta/corrections", "message", {"message": None, "evidence": EVIDENCE}),
        (
            "/api/v1/items/nacta/corrections",
            "contact",
            {"message": "The status is out of date.", "contact": None, "evidence": EVIDENCE},
        ),
        ("/api/v1/items/nacta/status-updates", "note", {**STATUS, "evidence": EVIDENCE}),
        (
            "/api/v1/items/nacta/status-updates",
            "evidence.title",
            {**STATUS, "evidence": [{**EVIDENCE[0], "title": None}]},
        ),
        (
            "/api/v1/items/nacta/events",
            "description",
            {"date": "2025-01-15", "type": "amended", "evidence": EVIDENCE},
        ),
    ]


def _fill(template: dict, field: str, value: str) -> dict:
    if field == "evidence.title":
        return {**template, "evidence": [{**template["evidence"][0], "title": value}]}
    padded = value if field not in ("message", "description", "note") else f"Text: {value}"
    return {**template, field: padded}


async def test_hostile_text_in_json_bodies(hostile: AsyncClient, keys: dict[str, str]) -> None:
    statuses: Counter[int] = Counter()
    failures = []
    for path, field, template in _body_fields():
        headers = bearer(keys["monitor"]) if "status-updates" in path or "events" in path else {}
        for label, value in (TEXTS if path == "/api/v1/chat" else CORE_TEXTS).items():
            tracking_router.corrections_limit.reset()
            auth.writes.reset()
            response = await hostile.post(path, json=_fill(template, field, value), headers=headers)
            statuses[response.status_code] += 1
            if not (200 <= response.status_code < 300 or 400 <= response.status_code < 500):
                failures.append(
                    f"{response.status_code} {path} {field}={label}: {response.text[:200]}"
                )
            elif response.status_code >= 400 and not is_problem(response):
                failures.append(f"{response.status_code} not problem+json {path} {field}={label}")
    print(
        f"\nJSON body fields: {sum(statuses.values())} requests, {dict(sorted(statuses.items()))}"
    )
    assert not failures, "\n".join(failures)


def _page_ok(response: Response, where: str) -> str | None:
    if response.status_code >= 500:
        return f"{response.status_code} {where}: {response.text[:200]}"
    if SCRIPT in response.text or IMG in response.text:
        return f"{response.status_code} {where} reflects markup unescaped"
    return None


async def test_hostile_text_in_page_forms(hostile: AsyncClient, keys: dict[str, str]) -> None:
    """The chat form (every value), the sign-in form (as the key) and the propose form (as the
    note) (the CORE values)."""
    statuses: Counter[int] = Counter()
    failures = []
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    for label, value in TEXTS.items():
        response = await hostile.post("/chat", data={"message": value}, headers=form)
        statuses[response.status_code] += 1
        failures.append(_page_ok(response, f"/chat message={label}"))
    for label, value in CORE_TEXTS.items():
        for key in (value, f"ngr_{value}_{value}"):
            auth.failed_auth.reset()
            hidden = Page((await hostile.get("/signin")).text).form("/signin").hidden
            response = await hostile.post("/signin", data={**hidden, "api_key": key})
            statuses[response.status_code] += 1
            failures.append(_page_ok(response, f"/signin api_key={label}"))
    await sign_in(hostile, keys["monitor"])
    for label, value in CORE_TEXTS.items():
        auth.writes.reset()
        page = await hostile.get("/items/nacta/propose")
        fields = {
            **Page(page.text).form("/items/nacta/propose").hidden,
            "status": "in_progress",
            "effective_date": "2025-01-15",
            "note": f"Note: {value}",
            "evidence_url": "https://example.org/x",
            "evidence_title": "A report",
            "evidence_published": "2025-01-10",
        }
        response = await hostile.post("/items/nacta/propose", data=fields)
        statuses[response.status_code] += 1
        failures.append(_page_ok(response, f"/items/nacta/propose note={label}"))
    print(f"\npage forms: {sum(statuses.values())} requests, {dict(sorted(statuses.items()))}")
    failures = [f for f in failures if f]
    assert not failures, "\n".join(failures)


# --- 4. path traversal ------------------------------------------------------------------------

TRAVERSALS = [
    "/api/v1/items/..%2F..%2Fetc%2Fpasswd",
    "/api/v1/items/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/api/v1/items/..%252F..%252Fetc%252Fpasswd",
    "/api/v1/items/..%5C..%5Capp%5Cmain.py",
    "/api/v1/groups/..%2F..%2Fetc%2Fpasswd",
    "/api/v1/places/..%2F..%2Fapp%2Fmain.py",
    "/api/v1/items/..%2F..%2Fetc%2Fpasswd/timeline",
    "/api/v1/items/../../etc/passwd",
    "/items/../../etc/passwd",
    "/items/..%2F..%2Fetc%2Fpasswd",
    "/items/%2e%2e/%2e%2e/etc/passwd",
    "/items/....//....//etc/passwd",
    "/static/../app/main.py",
    "/static/../../etc/passwd",
    "/static/%2e%2e/app/main.py",
    "/static/%2e%2e%2fapp%2fmain.py",
    "/static/..%2fapp%2fmain.py",
    "/static/..%252fapp%252fmain.py",
    "/static/..\\app\\main.py",
    "/static/..%5capp%5cmain.py",
    "/static/....//app/main.py",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/nigran.css%00.py",
    "/static/..%00/app/main.py",
    "/static/%c0%ae%c0%ae/app/main.py",
]
FILE_CONTENTS = ("root:", "def create_app", "import ", "[project]")


async def _raw_get(client: AsyncClient, raw_path: str) -> Response:
    """GET with the path sent exactly as written: httpx would otherwise resolve `..`."""
    request = client.build_request("GET", "http://test/")
    request.url = request.url.copy_with(raw_path=raw_path.encode())
    return await client.send(request)


async def test_path_traversal_finds_no_file(hostile: AsyncClient) -> None:
    assert (await hostile.get("/static/nigran.css")).status_code == 200  # the control
    statuses: Counter[int] = Counter()
    for raw in TRAVERSALS:
        response = await _raw_get(hostile, raw)
        statuses[response.status_code] += 1
        assert response.status_code in (400, 404), (raw, response.status_code, response.text[:200])
        assert not any(marker in response.text for marker in FILE_CONTENTS), raw
        if raw.startswith("/api/"):
            assert is_problem(response), raw
    print(f"\npath traversal: {len(TRAVERSALS)} paths, {dict(sorted(statuses.items()))}")


# --- hostile headers ------------------------------------------------------------------------

IF_MATCH = ['"nacta-v-1"', 'W/"x"', "*", '"nacta-v1.' + "f" * 5000 + '"', "' OR 1=1 --", '"-v"']
IDEMPOTENCY_KEYS = ["x" * 5000, "' OR 1=1 --", "é" * 10, "a b\tc", "%00"]


def _item_edit() -> dict:
    return {"summary": "A summary edited by the hostile-header test, long enough to pass."}


async def test_hostile_headers(hostile: AsyncClient, keys: dict[str, str]) -> None:
    statuses: Counter[int] = Counter()
    monitor, reviewer = bearer(keys["monitor"]), bearer(keys["reviewer"])
    note = {**STATUS, "evidence": EVIDENCE}
    for value in IF_MATCH:
        auth.writes.reset()
        for response in (
            await hostile.post(
                "/api/v1/items/nacta/status-updates",
                json=note,
                headers={**monitor, "If-Match": value},
            ),
            await hostile.patch(
                "/api/v1/items/nacta", json=_item_edit(), headers={**reviewer, "If-Match": value}
            ),
        ):
            statuses[response.status_code] += 1
            if response.status_code >= 300:  # a long digest after the right version matches
                assert_problem(response, 400, 412, 422)
    for value in IDEMPOTENCY_KEYS:
        auth.writes.reset()
        response = await hostile.post(
            "/api/v1/items/nacta/status-updates",
            json=note,
            headers={**monitor, "Idempotency-Key": value.encode()},
        )
        statuses[response.status_code] += 1
        assert response.status_code < 500, response.text[:300]
    for content_type in (
        "application/json; charset=utf-16",
        "application/x-www-form-urlencoded",
        "text/plain",
        "application/json, text/csv",
        "multipart/form-data; boundary=x",
    ):
        response = await hostile.post(
            "/api/v1/chat", content=b'{"message": "hi"}', headers={"Content-Type": content_type}
        )
        statuses[response.status_code] += 1
        assert response.status_code < 500, (content_type, response.text[:300])
    print(f"\nhostile headers: {sum(statuses.values())} requests, {dict(sorted(statuses.items()))}")


async def test_if_match_with_a_huge_version_is_refused(
    hostile: AsyncClient, keys: dict[str, str]
) -> None:
    huge = '"nacta-v99999999999999999999999"'
    note = {**STATUS, "evidence": EVIDENCE}
    proposed = await hostile.post(
        "/api/v1/items/nacta/status-updates",
        json=note,
        headers={**bearer(keys["monitor"]), "If-Match": huge},
    )
    edited = await hostile.patch(
        "/api/v1/items/nacta",
        json=_item_edit(),
        headers={**bearer(keys["reviewer"]), "If-Match": huge},
    )
    assert_problem(proposed, 412)
    assert_problem(edited, 412)
