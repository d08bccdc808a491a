"""API keys never leak, and a refusal does not tell a valid prefix from an unknown one.

Keys are used as a client would use them, valid, wrong, malformed and in malformed headers,
over the API and the sign-in page, with every logger captured at DEBUG (the SQL statements and
their parameters included). No key, and no key's secret part, may then appear in a log record,
a response (its body, headers or cookies; the one response that creates a key excepted), or the
audit table. Timing is not asserted; the answers to an unknown prefix and to a wrong secret for
a real prefix must be identical.
"""

import logging

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import select

from app.accounts import auth
from app.audit.models import AuditEntry
from app.core.errors import PROBLEM_JSON
from tests.conftest import Database
from tests.security.conftest import bearer
from tests.web.test_review import Page

EVIDENCE = [{"url": "https://example.org/r", "title": "A report", "published": "2025-01-10"}]


def _secret(key: str) -> str:
    return key.split("_", 2)[2]


def _forged(keys: dict[str, str]) -> dict[str, str]:
    """Keys a client might send that are not valid."""
    real = keys["monitor"]
    prefix = real.split("_", 2)[1]
    return {
        "wrong-secret": f"ngr_{prefix}_{'x' * 43}",
        "unknown-prefix": f"ngr_0123456789ab_{_secret(real)}",
        "wrong-scheme": f"nig_{prefix}_{_secret(real)}",
        "no-secret": f"ngr_{prefix}_",
        "truncated": real[:-5],
        "extended": real + "AAAA",
    }


def _malformed_headers(keys: dict[str, str]) -> list[str]:
    real = keys["reviewer"]
    return [
        f"Basic {real}",
        f"Token {real}",
        f"Bearer {real} {real}",
        f"Bearer  {real}",
        f"bearer{real}",
        f"{real}",
        "Bearer",
        "Bearer ",
    ]


def _leaks(text: str, secrets: list[str]) -> list[str]:
    return [s[:12] + "…" for s in secrets if s and s in text]


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")  # statements and parameters
    return caplog


async def test_keys_never_appear_in_logs_responses_or_audit(
    hostile: AsyncClient,
    keys: dict[str, str],
    seeded_db: Database,
    everything_logged: pytest.LogCaptureFixture,
) -> None:
    forged = _forged(keys)
    responses: list[Response] = []
    created: list[Response] = []

    for key in keys.values():  # valid keys: reads, a write, a refusal for the role
        responses.append(await hostile.get("/api/v1/review-queue", headers=bearer(key)))
        responses.append(await hostile.get("/api/v1/audit", headers=bearer(key)))
        responses.append(
            await hostile.post(
                "/api/v1/items/nacta/status-updates",
                json={
                    "status": "in_progress",
                    "note": "Checked for the key test.",
                    "effective_date": "2025-01-15",
                    "evidence": EVIDENCE,
                },
                headers=bearer(key),
            )
        )
    made = await hostile.post(
        "/api/v1/keys",
        json={"name": "made in the key test", "role": "monitor"},
        headers=bearer(keys["admin"]),
    )
    assert made.status_code == 201, made.text
    created.append(made)
    new_key = made.json()["key"]
    responses.append(await hostile.get("/api/v1/items/nacta", headers=bearer(new_key)))
    responses.append(await hostile.get("/api/v1/keys", headers=bearer(keys["admin"])))

    for key in forged.values():
        auth.failed_auth.reset()  # ten failures a minute per address, then 429s
        responses.append(await hostile.get("/api/v1/review-queue", headers=bearer(key)))
        responses.append(await hostile.get("/api/v1/items/nacta", headers=bearer(key)))
    for header in _malformed_headers(keys):
        auth.failed_auth.reset()
        responses.append(
            await hostile.get("/api/v1/review-queue", headers={"Authorization": header})
        )
    for key in [*keys.values(), *forged.values()]:  # the sign-in page, each in a fresh session
        auth.failed_auth.reset()
        hostile.cookies.clear()
        hidden = Page((await hostile.get("/signin")).text).form("/signin").hidden
        responses.append(await hostile.post("/signin", data={**hidden, "api_key": key}))
        responses.append(await hostile.get("/review"))
    assert {r.status_code for r in responses} >= {200, 201, 303, 401, 403, 422}

    secrets = [*keys.values(), new_key, *forged.values()]
    secrets += [_secret(k) for k in [*keys.values(), new_key]]
    for response in responses:
        shown = response.text + repr(response.headers.raw) + repr(dict(response.cookies))
        assert not _leaks(shown, secrets), (response.request.url, _leaks(shown, secrets))
    for response in created:  # the new key, to its creator only; no other key
        assert not _leaks(
            response.text, [s for s in secrets if s not in (new_key, _secret(new_key))]
        )

    records = everything_logged.records
    assert any(r.name.startswith("sqlalchemy.engine") for r in records), "SQL was not captured"
    for record in records:
        logged = record.getMessage() + repr(record.args) + (record.exc_text or "")
        assert not _leaks(logged, secrets), (record.name, logged[:300])
    assert not _leaks(everything_logged.text, secrets)

    async with seeded_db.session() as session:
        entries = list(await session.scalars(select(AuditEntry)))
    assert entries
    for entry in entries:
        stored = repr((entry.actor, entry.action, entry.target_type, entry.target, entry.details))
        assert not _leaks(stored, secrets), (entry.action, stored[:300])
    audit = await hostile.get("/api/v1/audit", params={"limit": 500}, headers=bearer(keys["admin"]))
    assert audit.status_code == 200 and not _leaks(audit.text, secrets)


def _answer(response: Response) -> tuple:
    body = response.json()
    return (
        response.status_code,
        response.headers.get("content-type"),
        response.headers.get("www-authenticate"),
        body,
    )


async def test_unknown_prefix_and_wrong_secret_answer_alike(
    hostile: AsyncClient, keys: dict[str, str]
) -> None:
    """What a caller can see of a refusal is the same whether or not the prefix exists."""
    real = keys["reviewer"]
    prefix, secret = real.split("_", 2)[1], _secret(real)
    candidates = {
        "wrong secret, real prefix": f"ngr_{prefix}_{'A' * len(secret)}",
        "real secret, unknown prefix": f"ngr_{'f' * len(prefix)}_{secret}",
        "unknown prefix": f"ngr_{'0' * len(prefix)}_{'A' * len(secret)}",
        "one character off": real[:-1] + ("A" if real[-1] != "A" else "B"),
    }
    for path in ("/api/v1/review-queue", "/api/v1/items/nacta"):
        answers = {}
        for label, key in candidates.items():
            auth.failed_auth.reset()
            response = await hostile.get(path, headers=bearer(key))
            assert response.status_code == 401, (label, response.text)
            assert response.headers["content-type"].startswith(PROBLEM_JSON)
            answers[label] = _answer(response)
        assert len(set(map(repr, answers.values()))) == 1, answers
        _, _, challenge, body = next(iter(answers.values()))
        assert challenge == "Bearer" and body["title"] == "Unauthenticated"
        assert prefix not in body["detail"]

    pages = {}
    for label, key in candidates.items():  # the sign-in page says the same too
        auth.failed_auth.reset()
        hostile.cookies.clear()
        hidden = Page((await hostile.get("/signin")).text).form("/signin").hidden
        response = await hostile.post("/signin", data={**hidden, "api_key": key})
        assert response.status_code == 422
        error = [line for line in response.text.splitlines() if "Not signed in" in line]
        pages[label] = (response.status_code, error)
    assert len(set(map(repr, pages.values()))) == 1, pages
