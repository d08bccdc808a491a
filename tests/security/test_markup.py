"""Markup and script in everything people can write is shown as text everywhere it is read.

The write API refuses markup in notes, descriptions and corrections (`no_markup`), so the first
test checks that refusal. Escaping must not depend on it, though: the second test writes notes
through the API with markup the filter lets through (`<3`, `<>`, a Cyrillic `<\u0441cript>`, attribute
breakouts, entities, control characters), and smuggles a real `<script>` and `<img onerror>`
into proposals straight into the database (as a bug, a seed or an import might), then lets the
ordinary workflow approve them. Every page that could show them (item, timeline, dashboard,
briefing, search, chat, propose and the reviewer's queue) must show them escaped, with the
Content-Security-Policy header; the Atom feed must be well-formed XML holding them as text.
"""

import xml.etree.ElementTree as ET

import feedparser
from httpx import AsyncClient
from sqlalchemy import update

from app.policies.models import TimelineEvent
from app.tracking.models import Correction, StatusUpdate
from tests.conftest import Database, _client_for
from tests.security.conftest import assert_problem, bearer
from tests.security.payloads import IMG, SCRIPT
from tests.web.test_review import Page, sign_in

ATOM = "{http://www.w3.org/2005/Atom}"
CYRILLIC_TAG = "<\u0441cript>"  # "script" with a Cyrillic "s": no_markup looks for Latin letters
SLUG = "nacta"
TOKEN = "Zanzibarquux"  # a word no seeded text holds, to find the notes by search
SMUGGLED = f"{TOKEN} smuggled: {SCRIPT} and {IMG}"
# Passes no_markup (no "<" before a Latin letter, "/", "!" or "?"), yet is hostile in HTML/XML.
PASSING = (
    f'{TOKEN} passing: 5 <3 6, <>, {CYRILLIC_TAG}alert(2), " onmouseover="alert(3)" x=", '
    "' onfocus='alert(4)' , javascript:alert(5), ]]>, &lt;script&gt;alert(6)&lt;/script&gt;, "
    "tab\tvertical\x0bescape\x1b[31m bell\x07."
)
RAW = [
    SCRIPT,
    IMG,
    "<img src=x",
    CYRILLIC_TAG,
    'onmouseover="alert(3)"',
    "onfocus='alert(4)'",
    "<3",
    "<>",
]
EVIDENCE = [{"url": "https://example.org/r", "title": "A report", "published": "2025-01-10"}]


def _status(note: str) -> dict:
    return {
        "status": "in_progress",
        "note": note,
        "effective_date": "2025-01-15",
        "evidence": EVIDENCE,
    }


async def test_markup_is_refused_at_the_api(hostile: AsyncClient, keys: dict[str, str]) -> None:
    monitor = bearer(keys["monitor"])
    for markup in (SCRIPT, IMG, "< script>alert(1)", "<!-- x -->", "</p>"):
        for path, body, headers in (
            (f"/api/v1/items/{SLUG}/status-updates", _status(f"Note {markup}"), monitor),
            (
                f"/api/v1/items/{SLUG}/events",
                {
                    "date": "2025-01-15",
                    "type": "amended",
                    "description": f"Amended {markup}",
                    "evidence": EVIDENCE,
                },
                monitor,
            ),
            (
                f"/api/v1/items/{SLUG}/corrections",
                {"message": f"Out of date {markup}", "evidence": EVIDENCE},
                {},
            ),
        ):
            problem = assert_problem(await hostile.post(path, json=body, headers=headers), 422)
            assert "markup" in problem["detail"], problem


async def _approved(client: AsyncClient, keys: dict[str, str], db: Database, text: str) -> None:
    """A status update and an event whose texts are `text`, approved by a reviewer; if the API
    would refuse `text`, it is put in the database between the proposal and the approval."""
    monitor, reviewer = bearer(keys["monitor"]), bearer(keys["reviewer"])
    placeholder = "A placeholder note for the markup test."
    proposed = await client.post(
        f"/api/v1/items/{SLUG}/status-updates", json=_status(placeholder), headers=monitor
    )
    assert proposed.status_code == 201, proposed.text
    event = await client.post(
        f"/api/v1/items/{SLUG}/events",
        json={
            "date": "2025-01-20",
            "type": "amended",
            "description": placeholder,
            "evidence": EVIDENCE,
        },
        headers=monitor,
    )
    assert event.status_code == 201, event.text
    async with db.session() as session, session.begin():
        await session.execute(
            update(StatusUpdate).where(StatusUpdate.id == proposed.json()["id"]).values(note=text)
        )
        await session.execute(
            update(TimelineEvent)
            .where(TimelineEvent.id == event.json()["id"])
            .values(description=text)
        )
    for path in (
        f"/api/v1/status-updates/{proposed.json()['id']}/approve",
        f"/api/v1/events/{event.json()['id']}/approve",
    ):
        approved = await client.post(path, json={}, headers=reviewer)
        assert approved.status_code == 200, approved.text


async def _pending(client: AsyncClient, keys: dict[str, str], db: Database, text: str) -> None:
    """A status update and a public correction holding `text`, left for review."""
    proposed = await client.post(
        f"/api/v1/items/{SLUG}/status-updates",
        json=_status("A pending placeholder note."),
        headers=bearer(keys["monitor"]),
    )
    correction = await client.post(
        f"/api/v1/items/{SLUG}/corrections",
        json={"message": "A placeholder correction message.", "evidence": EVIDENCE},
    )
    assert proposed.status_code == correction.status_code == 201
    async with db.session() as session, session.begin():
        await session.execute(
            update(StatusUpdate).where(StatusUpdate.id == proposed.json()["id"]).values(note=text)
        )
        await session.execute(
            update(Correction)
            .where(Correction.id == correction.json()["id"])
            .values(message=text, contact=text[:200])
        )


def _assert_escaped(path: str, html: str, headers) -> None:  # type: ignore[no-untyped-def]
    found = [raw for raw in RAW if raw in html]
    assert not found, f"{path} shows {found} unescaped"
    page = Page(html)
    assert page.inline == [], f"{path} carries inline code or handlers: {page.inline}"
    policy = headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy, (path, policy)
    assert headers.get("x-content-type-options") == "nosniff", path


async def test_markup_is_escaped_everywhere(
    hostile: AsyncClient, keys: dict[str, str], seeded_db: Database
) -> None:
    client = hostile
    await _approved(client, keys, seeded_db, SMUGGLED)
    await _approved(client, keys, seeded_db, PASSING)
    await _pending(client, keys, seeded_db, SMUGGLED)
    await _pending(client, keys, seeded_db, PASSING)

    pages = {
        "/": None,
        f"/items/{SLUG}": None,
        "/timeline": None,
        f"/timeline?item={SLUG}&order=desc": None,
        "/briefing": None,
        f"/search?q={TOKEN}": None,
    }
    for path in pages:
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        _assert_escaped(path, response.text, response.headers)
        pages[path] = response.text
    item_page = pages[f"/items/{SLUG}"] or ""
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in item_page  # shown, as text
    assert "&amp;lt;script&amp;gt;alert(6)" in item_page  # entities are not decoded into tags
    assert "&lt;\u0441cript&gt;" in item_page
    assert TOKEN in (pages[f"/search?q={TOKEN}"] or "")  # the search found the notes

    briefing = await client.get("/api/v1/summary", params={"format": "html"})
    assert briefing.status_code == 200
    assert not [raw for raw in RAW if raw in briefing.text]

    chat = await client.post("/chat", data={"message": f"{SCRIPT} {IMG} What is NACTA?"})
    assert chat.status_code == 200, chat.text[:300]
    _assert_escaped("POST /chat", chat.text, chat.headers)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in chat.text
    asked = await client.post("/api/v1/chat", json={"message": f"{SCRIPT} What is NACTA?"})
    assert asked.status_code == 200 and asked.headers["content-type"] == "application/json"

    async with _client_for(seeded_db) as reviewer:  # a browser of its own, signed in
        assert (await sign_in(reviewer, keys["reviewer"])).status_code == 303
        queue = await reviewer.get("/review")
        assert queue.status_code == 200, queue.text[:300]
        _assert_escaped("/review", queue.text, queue.headers)
        assert queue.text.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 2  # note, message
        propose = await reviewer.get(f"/items/{SLUG}/propose")
        assert propose.status_code == 200
        _assert_escaped("/items/propose", propose.text, propose.headers)

    for feed_path in ("/api/v1/feeds/changes.atom", f"/api/v1/feeds/changes.atom?item={SLUG}"):
        feed = await client.get(feed_path, params={"order": "desc"})
        assert feed.status_code == 200
        assert b"<script" not in feed.content and b"<img src=x" not in feed.content
        root = ET.fromstring(feed.content)  # well-formed, control characters and all
        summaries = [e.findtext(f"{ATOM}summary") or "" for e in root.iter(f"{ATOM}entry")]
        assert any(SMUGGLED in s for s in summaries), feed_path  # the script, as text
        assert any(f"{TOKEN} passing" in s and CYRILLIC_TAG in s for s in summaries), feed_path
        parsed = feedparser.parse(feed.content)
        assert not parsed.bozo, parsed.get("bozo_exception")
