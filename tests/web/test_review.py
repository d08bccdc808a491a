"""The monitor and reviewer pages, driven over HTTP as a browser would (cookies kept per client).

Every test runs on SQLite and on PostgreSQL over the seeded data set; proposals and decisions
made through the pages are checked through the JSON API, which reads the same tables.
"""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from httpx import AsyncClient, Response
from itsdangerous import URLSafeTimedSerializer
from pydantic import ValidationError
from sqlalchemy import update

from app.accounts import auth
from app.accounts.models import ApiKey, Role
from app.accounts.service import create_key, revoke_key
from app.core.config import Settings, get_settings
from app.core.time import utcnow
from app.tracking import router as tracking_router
from app.web.session import COOKIE
from tests.conftest import Database, _client_for

SLUG = "nacta"
FORM = {
    "status": "in_progress",
    "progress": "40",
    "jurisdiction": "punjab",
    "effective_date": "2025-01-15",
    "note": "Punjab registered a further tranche of seminaries.",
    "evidence_url": "https://example.org/punjab-gazette",
    "evidence_title": "Punjab gazette notice",
    "evidence_published": "2025-01-10",
}


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """Rate limits live in process memory; each test starts with clean windows."""
    for limiter in (auth.failed_auth, auth.writes, tracking_router.corrections_limit):
        limiter.reset()
    yield


@pytest.fixture
async def keys(seeded_db: Database) -> dict[str, str]:
    async with seeded_db.session() as session, session.begin():
        return {
            role.value: (await create_key(session, name=f"page {role}", role=role)).key
            for role in Role
        }


@pytest.fixture
async def other_client(seeded_db: Database) -> AsyncIterator[AsyncClient]:
    """A second browser: its own cookies, the same database."""
    async with _client_for(seeded_db) as http:
        yield http


@dataclass
class Form:
    action: str
    hidden: dict[str, str] = field(default_factory=dict)


class Page(HTMLParser):
    """What the tests read from a page: its forms' hidden fields, its controls and labels."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.controls: list[dict[str, str | None]] = []
        self.labels: set[str] = set()
        self.inline: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if "style" in a or any(name.startswith("on") for name in a):
            self.inline.append(tag)
        if tag == "style" or (tag == "script" and not a.get("src")):
            self.inline.append(tag)
        if tag == "form":
            self.forms.append(Form(a.get("action") or ""))
        elif tag == "label" and a.get("for"):
            self.labels.add(a["for"] or "")
        elif tag == "input" and a.get("type") == "hidden":
            self.forms[-1].hidden[a.get("name") or ""] = a.get("value") or ""
        elif tag in ("input", "select", "textarea"):
            self.controls.append({"tag": tag, **a})

    def form(self, action: str) -> Form:
        return next(f for f in self.forms if f.action == action)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def sign_in(client: AsyncClient, key: str, next_path: str | None = None) -> Response:
    page = Page((await client.get("/signin", params={"next": next_path} if next_path else {})).text)
    form = page.form("/signin")
    return await client.post("/signin", data={**form.hidden, "api_key": key})


async def propose_form(client: AsyncClient, slug: str = SLUG) -> Form:
    response = await client.get(f"/items/{slug}/propose")
    assert response.status_code == 200, response.text
    return Page(response.text).form(f"/items/{slug}/propose")


async def queue(client: AsyncClient, key: str) -> dict:
    response = await client.get("/api/v1/review-queue", headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.json()


async def item(client: AsyncClient, slug: str = SLUG) -> dict:
    return (await client.get(f"/api/v1/items/{slug}")).json()


async def api_propose(
    client: AsyncClient, key: str, status: str, effective_date: str = "2025-02-01"
) -> dict:
    body = {
        "status": status,
        "note": f"Set to {status} through the API.",
        "effective_date": effective_date,
        "evidence": [
            {"url": "https://example.org/a", "title": "A report", "published": "2025-01-30"}
        ],
    }
    response = await client.post(
        f"/api/v1/items/{SLUG}/status-updates", json=body, headers=bearer(key)
    )
    assert response.status_code == 201, response.text
    return response.json()


def set_cookies(response: Response) -> list[str]:
    return [v for k, v in response.headers.multi_items() if k == "set-cookie"]


# Signing in ----------------------------------------------------------------------------------


async def test_anonymous_review_redirects_to_sign_in(client: AsyncClient) -> None:
    response = await client.get("/review")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/review"


async def test_sign_in_form_is_labelled_and_hides_the_key(client: AsyncClient) -> None:
    response = await client.get("/signin", params={"next": "/review"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    page = Page(response.text)
    (key_input,) = [c for c in page.controls if c.get("name") == "api_key"]
    assert key_input["type"] == "password"
    assert key_input["autocomplete"] == "off"
    assert key_input["id"] in page.labels
    assert page.form("/signin").hidden["next"] == "/review"
    assert page.form("/signin").hidden["csrf_token"]


async def test_a_wrong_key_shows_an_error_and_starts_no_session(
    client: AsyncClient, keys: dict[str, str]
) -> None:
    response = await sign_in(client, keys["monitor"][:-4] + "xxxx")
    assert response.status_code == 422
    assert "Not signed in: the API key is not valid." in response.text
    assert (await client.get("/review")).status_code == 303
    assert (await client.get(f"/items/{SLUG}/propose")).status_code == 303


async def test_failed_sign_ins_are_rate_limited_per_address(
    client: AsyncClient, keys: dict[str, str]
) -> None:
    for _ in range(get_settings().failed_auth_per_minute):
        assert (await sign_in(client, "ngr_nothing_here")).status_code == 422
    refused = await sign_in(client, keys["reviewer"])  # even a good key waits its turn
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("text/html")
    assert int(refused.headers["retry-after"]) > 0
    assert "too many failed authentications" in refused.text.lower()


async def test_a_monitor_signs_in_and_may_not_review(
    client: AsyncClient, keys: dict[str, str]
) -> None:
    response = await sign_in(client, keys["monitor"])
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert (await client.get(f"/items/{SLUG}/propose")).status_code == 200
    forbidden = await client.get("/review")
    assert forbidden.status_code == 403
    assert forbidden.headers["content-type"].startswith("text/html")
    assert "needs the reviewer role; your key has monitor" in forbidden.text
    assert "Signed in as <strong>page monitor</strong>" in forbidden.text


async def test_the_cookie_never_authorizes_the_api(
    client: AsyncClient, keys: dict[str, str]
) -> None:
    """The API takes bearer keys only, so a cross-site request riding the cookie gets nowhere."""
    await sign_in(client, keys["reviewer"])
    assert (await client.get("/review")).status_code == 200
    assert (await client.get("/api/v1/review-queue")).status_code == 401
    response = await client.post(f"/api/v1/items/{SLUG}/status-updates", json={})
    assert response.status_code in (401, 422)
    pending = await api_propose(client, keys["monitor"], "stalled")
    shown = {h["id"] for h in (await item(client))["history"]}  # reviewers' view needs a key
    assert pending["id"] not in shown


def test_a_short_session_secret_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 32 characters"):
        Settings(session_secret="too-short")


@pytest.mark.parametrize("role", ["reviewer", "admin"])
async def test_reviewers_and_admins_see_the_queue(
    client: AsyncClient, keys: dict[str, str], role: str
) -> None:
    response = await sign_in(client, keys[role], "/review")
    assert response.headers["location"] == "/review"
    page = await client.get("/review")
    assert page.status_code == 200
    assert "<h1>Review queue</h1>" in page.text


async def test_the_cookie_is_httponly_samesite_and_holds_no_key(
    client: AsyncClient, keys: dict[str, str]
) -> None:
    response = await sign_in(client, keys["monitor"])
    (cookie,) = set_cookies(response)
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "secure" not in attributes  # plain HTTP here; see the HTTPS test
    value = client.cookies[COOKIE]
    secret = keys["monitor"].split("_", 2)[2]
    assert keys["monitor"] not in value and secret not in value
    serializer = URLSafeTimedSerializer(
        get_settings().session_secret.get_secret_value(), salt="nigran-session"
    )
    data = serializer.loads(value)
    assert set(data) == {"key", "ref", "since", "csrf"}
    assert data["key"] == keys["monitor"].split("_")[1]
    assert secret not in str(data)


async def test_over_https_the_cookie_is_secure(client: AsyncClient) -> None:
    response = await client.get("https://test/signin")
    (cookie,) = set_cookies(response)
    assert "secure" in [part.strip().lower() for part in cookie.split(";")]


async def test_an_altered_cookie_is_no_session(client: AsyncClient, keys: dict[str, str]) -> None:
    await sign_in(client, keys["reviewer"])
    value = client.cookies[COOKIE]
    client.cookies.set(COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert (await client.get("/review")).status_code == 303


@pytest.mark.parametrize("how", ["revoked", "expired"])
async def test_a_revoked_or_expired_key_signs_out_at_once(
    client: AsyncClient, keys: dict[str, str], seeded_db: Database, how: str
) -> None:
    await sign_in(client, keys["reviewer"])
    assert (await client.get("/review")).status_code == 200
    prefix = keys["reviewer"].split("_")[1]
    async with seeded_db.session() as session, session.begin():
        if how == "revoked":
            await revoke_key(session, prefix=prefix)
        else:
            await session.execute(
                update(ApiKey)
                .where(ApiKey.prefix == prefix)
                .values(expires_at=utcnow() - timedelta(minutes=1))
            )
    response = await client.get("/review")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=/review"
    signin = await client.get("/signin")
    assert (
        f"You were signed out: the API key {'was revoked' if how == 'revoked' else 'has expired'}."
        in signin.text
    )
    assert (await client.get("/review")).status_code == 303


async def test_sign_out(client: AsyncClient, keys: dict[str, str]) -> None:
    await sign_in(client, keys["reviewer"])
    form = Page((await client.get("/review")).text).form("/signout")
    response = await client.post("/signout", data=form.hidden)
    assert response.status_code == 303
    assert response.headers["location"] == "/signin"
    assert "You are signed out." in (await client.get("/signin")).text
    assert (await client.get("/review")).status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example"])
async def test_sign_in_returns_only_to_this_site(
    client: AsyncClient, keys: dict[str, str], target: str
) -> None:
    response = await sign_in(client, keys["reviewer"], target)
    assert response.headers["location"] == "/review"


# CSRF ----------------------------------------------------------------------------------------


async def _signed_in_forms(client: AsyncClient, keys: dict[str, str]) -> dict[str, dict]:
    """A signed-in reviewer's real forms, keyed by action, each with a good token."""
    await sign_in(client, keys["reviewer"])
    proposal = await api_propose(client, keys["monitor"], "stalled")
    forms = Page((await client.get("/review")).text).forms
    propose = await propose_form(client)
    actions = {f.action: f.hidden for f in [*forms, propose]}
    actions["/signin"] = Page((await client.get("/signin")).text).form("/signin").hidden
    assert f"/review/status-updates/{proposal['id']}/approve" in actions
    return {a: {**h, "reason": "Not sourced well enough.", **FORM} for a, h in actions.items()}


async def test_posts_without_the_csrf_token_are_refused(
    client: AsyncClient, keys: dict[str, str]
) -> None:
    forms = await _signed_in_forms(client, keys)
    before = await queue(client, keys["reviewer"])
    for action, data in forms.items():
        for token in (None, "", data["csrf_token"][:-1] + "x", "é" * 10):
            sent = {k: v for k, v in data.items() if k != "csrf_token"}
            if token is not None:
                sent["csrf_token"] = token
            response = await client.post(action, data=sent)
            assert response.status_code == 403, (action, token, response.text)
            assert response.headers["content-type"].startswith("text/html")
            assert "security token" in response.text
    assert await queue(client, keys["reviewer"]) == before
    assert (await client.get("/review")).status_code == 200  # still signed in


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://test"},
    ],
)
async def test_cross_site_posts_are_refused_even_with_the_token(
    client: AsyncClient, keys: dict[str, str], headers: dict[str, str]
) -> None:
    forms = await _signed_in_forms(client, keys)
    before = await queue(client, keys["reviewer"])
    for action, data in forms.items():
        response = await client.post(action, data=data, headers=headers)
        assert response.status_code == 403, (action, response.text)
    assert await queue(client, keys["reviewer"]) == before


async def test_a_same_origin_post_passes(client: AsyncClient, keys: dict[str, str]) -> None:
    await sign_in(client, keys["monitor"])
    form = await propose_form(client)
    response = await client.post(
        f"/items/{SLUG}/propose",
        data={**form.hidden, **FORM},
        headers={"Origin": "http://test", "Sec-Fetch-Site": "same-origin"},
    )
    assert response.status_code == 303


# Proposing and reviewing ---------------------------------------------------------------------


async def test_a_monitor_proposes_and_a_reviewer_approves(
    client: AsyncClient, other_client: AsyncClient, keys: dict[str, str]
) -> None:
    before = await item(client)
    await sign_in(client, keys["monitor"])
    form = await propose_form(client)
    assert form.hidden["version"] == str(before["version"])
    response = await client.post(f"/items/{SLUG}/propose", data={**form.hidden, **FORM})
    assert response.status_code == 303
    assert response.headers["location"] == f"/items/{SLUG}"
    landed = await client.get(f"/items/{SLUG}")
    assert "was sent for review" in landed.text  # the confirmation shows where it lands
    assert "was sent for review" not in (await client.get(f"/items/{SLUG}")).text  # once

    (pending,) = (await queue(client, keys["reviewer"]))["status_updates"]
    assert pending["item"] == SLUG
    assert pending["status"] == "in_progress" and pending["progress"] == 40
    assert pending["jurisdiction"] == "punjab" and pending["review_state"] == "pending"
    assert pending["author"].startswith("monitor:page monitor")
    assert pending["evidence"][0]["url"] == FORM["evidence_url"]
    assert (await item(client))["version"] == before["version"]  # pending changes nothing

    await sign_in(other_client, keys["reviewer"])
    review = await other_client.get("/review")
    assert FORM["note"] in review.text
    approve = Page(review.text).form(f"/review/status-updates/{pending['id']}/approve")
    assert approve.hidden["version"] == str(before["version"])
    decided = await other_client.post(approve.action, data=approve.hidden)
    assert decided.status_code == 303
    assert decided.headers["location"] == "/review"
    after = await other_client.get("/review")
    assert f"Status update #{pending['id']} approved." in after.text
    assert "No status update is waiting." in after.text

    changed = await item(client)
    assert changed["version"] == before["version"] + 1
    assert changed["status_by_jurisdiction"]["punjab"]["status"] == "in_progress"
    (entry,) = [h for h in changed["history"] if h["id"] == pending["id"]]
    assert entry["review_state"] == "approved"
    assert entry["reviewed_by"].startswith("reviewer:page reviewer")


async def test_a_reviewers_own_proposal_is_approved_at_once(
    client: AsyncClient, keys: dict[str, str]
) -> None:
    await sign_in(client, keys["reviewer"])
    form = await propose_form(client)
    data = {**form.hidden, **FORM, "jurisdiction": ""}
    assert (await client.post(f"/items/{SLUG}/propose", data=data)).status_code == 303
    now = await item(client)
    assert now["status"] == "in_progress" and now["progress"] == 40
    assert (await queue(client, keys["reviewer"]))["status_updates"] == []
    assert "was approved and is now on record" in (await client.get("/review")).text


async def test_invalid_input_is_shown_and_kept(client: AsyncClient, keys: dict[str, str]) -> None:
    await sign_in(client, keys["monitor"])
    form = await propose_form(client)
    typed = {
        **FORM,
        "status": "finished",
        "progress": "140",
        "note": "See <b>this</b>",
        "evidence_url": "not a url",
        "evidence_title": "",
    }
    response = await client.post(f"/items/{SLUG}/propose", data={**form.hidden, **typed})
    assert response.status_code == 422
    html = response.text
    assert "See &lt;b&gt;this&lt;/b&gt;</textarea>" in html  # kept, and escaped
    assert 'value="140"' in html and 'value="not a url"' in html
    for field_name in ("status", "progress", "note", "evidence_url", "evidence_title"):
        assert f'id="{field_name}-error"' in html, field_name
    assert "Must be plain text, without HTML or markup" in html
    page = Page(html)
    assert page.form(f"/items/{SLUG}/propose").hidden["version"] == form.hidden["version"]
    assert (await queue(client, keys["reviewer"]))["status_updates"] == []


@pytest.mark.parametrize("role", ["monitor", "reviewer"])
async def test_a_stale_form_shows_the_current_state_and_loses_nothing(
    client: AsyncClient, keys: dict[str, str], role: str
) -> None:
    await sign_in(client, keys[role])
    form = await propose_form(client)
    await api_propose(client, keys["admin"], "stalled")  # someone else changes the item
    changed = await item(client)
    assert changed["version"] == int(form.hidden["version"]) + 1

    stale = await client.post(f"/items/{SLUG}/propose", data={**form.hidden, **FORM})
    assert stale.status_code == 412
    assert "This item changed since you opened the form; here is its current state" in stale.text
    assert "stalled" in stale.text and FORM["note"] in stale.text
    again = Page(stale.text).form(f"/items/{SLUG}/propose")
    assert again.hidden["version"] == str(changed["version"])
    after = await item(client)
    assert (after["status"], after["version"]) == (changed["status"], changed["version"])
    assert (await queue(client, keys["reviewer"]))["status_updates"] == []
    assert len(after["history"]) == len(changed["history"])

    resent = await client.post(f"/items/{SLUG}/propose", data={**again.hidden, **FORM})
    assert resent.status_code == 303
    pending = (await queue(client, keys["reviewer"]))["status_updates"]
    assert len(pending) == (1 if role == "monitor" else 0)
    if role == "reviewer":
        assert (await item(client))["version"] == changed["version"] + 1


async def test_a_stale_approval_shows_the_current_state_and_can_be_confirmed(
    client: AsyncClient, keys: dict[str, str]
) -> None:
    proposal = await api_propose(client, keys["monitor"], "implemented", "2025-03-01")
    await sign_in(client, keys["reviewer"])
    approve = Page((await client.get("/review")).text).form(
        f"/review/status-updates/{proposal['id']}/approve"
    )
    await api_propose(client, keys["admin"], "stalled")
    changed = await item(client)

    stale = await client.post(approve.action, data=approve.hidden)
    assert stale.status_code == 412
    assert "The item changed since this status update was proposed" in stale.text
    assert f"(the proposal saw version {approve.hidden['version']})" in stale.text
    assert (await item(client))["status"] == "stalled"
    (still,) = (await queue(client, keys["reviewer"]))["status_updates"]
    assert still["id"] == proposal["id"]

    confirm = [f for f in Page(stale.text).forms if f.action == approve.action]
    assert confirm[0].hidden["version"] == str(changed["version"])  # the confirm form first
    done = await client.post(approve.action, data=confirm[0].hidden)
    assert done.status_code == 303
    final = await item(client)
    assert (final["status"], final["version"]) == ("implemented", changed["version"] + 1)


async def test_deciding_twice_shows_a_conflict(
    client: AsyncClient, other_client: AsyncClient, keys: dict[str, str]
) -> None:
    proposal = await api_propose(client, keys["monitor"], "implemented")
    for http in (client, other_client):
        await sign_in(http, keys["reviewer"])
    forms = {}
    for http in (client, other_client):
        page = Page((await http.get("/review")).text)
        forms[http] = page.form(f"/review/status-updates/{proposal['id']}/reject")
    first = await client.post(
        forms[client].action, data={**forms[client].hidden, "reason": "Opinion column."}
    )
    assert first.status_code == 303
    second = await other_client.post(
        forms[other_client].action, data={**forms[other_client].hidden, "reason": "Too late."}
    )
    assert second.status_code == 409
    assert "This status update was already reviewed" in second.text
    assert "rejected by reviewer:page reviewer" in second.text
    history = (await client.get(f"/api/v1/items/{SLUG}", headers=bearer(keys["reviewer"]))).json()
    (entry,) = [h for h in history["history"] if h["id"] == proposal["id"]]
    assert (entry["review_state"], entry["review_reason"]) == ("rejected", "Opinion column.")


async def test_a_rejection_needs_a_reason(client: AsyncClient, keys: dict[str, str]) -> None:
    proposal = await api_propose(client, keys["monitor"], "implemented")
    await sign_in(client, keys["reviewer"])
    page = Page((await client.get("/review")).text)
    assert f"reason-status-updates-{proposal['id']}" in page.labels
    reject = page.form(f"/review/status-updates/{proposal['id']}/reject")
    response = await client.post(reject.action, data={**reject.hidden, "reason": "no"})
    assert response.status_code == 422
    assert "Reason: String should have at least 3 characters" in response.text
    assert 'value="no"' in response.text
    assert len((await queue(client, keys["reviewer"]))["status_updates"]) == 1


async def test_events_and_corrections_are_reviewed_from_the_queue(
    client: AsyncClient, keys: dict[str, str]
) -> None:
    evidence = [{"url": "https://example.org/e", "title": "A gazette", "published": "2025-01-02"}]
    event = await client.post(
        f"/api/v1/items/{SLUG}/events",
        json={
            "date": "2025-01-02",
            "type": "amended",
            "description": "The rules were amended.",
            "evidence": evidence,
        },
        headers=bearer(keys["monitor"]),
    )
    assert event.status_code == 201, event.text
    correction = await client.post(
        f"/api/v1/items/{SLUG}/corrections",
        json={"message": "The item is now implemented.", "evidence": evidence},
    )
    assert correction.status_code == 201, correction.text
    await sign_in(client, keys["reviewer"])
    page = Page((await client.get("/review")).text)
    approve = page.form(f"/review/events/{event.json()['id']}/approve")
    assert (await client.post(approve.action, data=approve.hidden)).status_code == 303
    reject = page.form(f"/review/corrections/{correction.json()['id']}/reject")
    data = {**reject.hidden, "reason": "No new evidence."}
    assert (await client.post(reject.action, data=data)).status_code == 303
    left = await queue(client, keys["reviewer"])
    assert left["events"] == [] and left["corrections"] == []
    assert "Correction #" in (await client.get("/review")).text


async def test_unknown_items_and_proposals_are_html_404s(
    client: AsyncClient, keys: dict[str, str]
) -> None:
    await sign_in(client, keys["reviewer"])
    token = Page((await client.get("/review")).text).form("/signout").hidden
    for response in (
        await client.get("/items/no-such-item/propose"),
        await client.post("/review/status-updates/999999/approve", data=token),
        await client.post("/review/nonsense/1/approve", data=token),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")


async def test_pages_label_every_field_and_carry_no_inline_code(
    client: AsyncClient, keys: dict[str, str]
) -> None:
    await api_propose(client, keys["monitor"], "implemented")
    await sign_in(client, keys["reviewer"])
    for path in ("/signin", f"/items/{SLUG}/propose", "/review"):
        response = await client.get(path)
        page = Page(response.text)
        assert page.controls, path
        for control in page.controls:
            assert control.get("id") in page.labels, (path, control)
        assert page.inline == [], path
        assert "content-security-policy" in response.headers
