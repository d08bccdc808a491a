"""The chat provider, against a real OpenAI-compatible server on loopback with scripted replies.

The server is a small FastAPI app run by uvicorn in a thread, speaking POST /v1/chat/completions
over real HTTP; each test scripts its replies and reads back what the server received.
"""

import asyncio
import json
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from app.chat import engine, provider
from app.chat.provider import (
    RESULT_CHARS,
    Tools,
    split_refs,
    supported_values,
    unsupported_numbers,
)
from app.core.config import get_settings
from app.core.errors import InvalidInput
from app.incidents import service as incidents
from app.incidents import trends
from tests.conftest import Database

MODEL = "scripted-model"
KEY = "sk-test-only"
KP_2023 = "How many attacks were there in Khyber Pakhtunkhwa in 2023?"
KP_CALL = ("statistics", {"metric": "attacks", "year": 2023, "region": "Khyber Pakhtunkhwa"})

Reply = Callable[[dict[str, Any]], dict[str, Any] | Response | Awaitable[dict[str, Any]]]


# --- the scripted server --------------------------------------------------------------------


@dataclass
class FakeProvider:
    """What the server will answer, in order, and every request it received."""

    base_url: str
    replies: list[Reply] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)

    def script(self, *replies: Reply) -> None:
        self.replies = list(replies)


def _server_app(fake: FakeProvider) -> FastAPI:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def complete(request: Request) -> Response:
        body = await request.json()
        fake.requests.append(body)
        fake.headers.append(dict(request.headers))
        if not fake.replies:
            return JSONResponse({"error": {"message": "no scripted reply left"}}, status_code=400)
        result = fake.replies.pop(0)(body)
        if asyncio.iscoroutine(result):
            result = await result
        return result if isinstance(result, Response) else JSONResponse(result)

    return app


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeProvider]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    fake = FakeProvider(base_url=f"http://127.0.0.1:{port}/v1")
    config = uvicorn.Config(
        _server_app(fake), log_level="warning", lifespan="off", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the scripted provider did not start")
        time.sleep(0.01)
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def fake(fake_server: FakeProvider) -> FakeProvider:
    """The module's server with an empty script and no requests recorded."""
    fake_server.script()
    fake_server.requests.clear()
    fake_server.headers.clear()
    return fake_server


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    """Set NIGRAN_CHAT_PROVIDER_* for this test; settings are re-read, and restored after."""

    def apply(**values: Any) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"NIGRAN_CHAT_PROVIDER_{name.upper()}", str(value))
        get_settings.cache_clear()

    get_settings.cache_clear()
    yield apply
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def configured(fake: FakeProvider, configure: Callable[..., None]) -> FakeProvider:
    configure(base_url=fake.base_url, model=MODEL, api_key=KEY, timeout_seconds=5)
    return fake


def completion(
    content: str | None = None, calls: list[tuple[str, dict[str, Any] | str]] = ()
) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = [
            {
                "id": f"call_{n}",
                "type": "function",
                "function": {
                    "name": name,
                    "arguments": args if isinstance(args, str) else json.dumps(args),
                },
            }
            for n, (name, args) in enumerate(calls)
        ]
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
        ],
    }


def tool_messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in body["messages"] if m["role"] == "tool"]


def fixed(reply: dict[str, Any]) -> Reply:
    return lambda _body: reply


async def offline_fallback_matches(
    answer: engine.Answer, session: Any, message: str, note_part: str
) -> None:
    expected = await engine.answer(session, message, {})
    assert answer.engine == "offline"
    assert answer.text == expected.text
    assert answer.citations == expected.citations
    assert answer.found == expected.found
    assert answer.notes[:-1] == expected.notes
    assert note_part in answer.notes[-1]
    assert answer.notes[-1].endswith("this answer is from the offline engine")


# --- the provider phrases the answer --------------------------------------------------------


async def test_the_provider_phrases_an_answer_from_a_tool_result(
    seeded_db: Database, configured: FakeProvider
) -> None:
    def answer_from_tool_result(body: dict[str, Any]) -> dict[str, Any]:
        (tool,) = tool_messages(body)
        kp = [
            o
            for o in json.loads(tool["content"])["observations"]
            if o["dimensions"].get("region") == "Khyber Pakhtunkhwa"
        ]
        return completion(f"Khyber Pakhtunkhwa had {kp[0]['metrics']['attacks']} attacks in 2023.")

    configured.script(fixed(completion(calls=[KP_CALL])), answer_from_tool_result)
    async with seeded_db.session() as session:
        answer = await provider.respond(session, KP_2023, {})
        observations = await incidents.list_observations(
            session,
            incidents.ObservationFilters(
                metric="attacks", year=2023, dimensions=(("region", "Khyber Pakhtunkhwa"),)
            ),
            limit=100,
        )

    assert answer.text == "Khyber Pakhtunkhwa had 174 attacks in 2023."
    assert answer.engine == MODEL
    assert answer.notes == []
    assert answer.found
    by_id = {str(o.id): o for o in observations.observations}
    stats = [c for c in answer.citations if c.type == "stat"]
    assert stats, answer.citations
    cited = by_id[stats[0].id]
    assert cited.metrics["attacks"] == 174
    assert cited.dimensions["region"] == "Khyber Pakhtunkhwa"
    assert stats[0].source.startswith(cited.source.document or cited.source.doc)
    assert stats[0].url.startswith("/api/v1/stats?")

    first, second = configured.requests
    assert first["model"] == MODEL
    assert first["tool_choice"] == "auto"
    assert first["temperature"] == 0
    assert [m["role"] for m in first["messages"]] == ["system", "user"]
    assert first["messages"][1]["content"] == KP_2023
    assert {t["function"]["name"] for t in first["tools"]} == {
        "search",
        "get_item",
        "statistics",
        "trend",
        "summary",
    }
    assert [m["role"] for m in second["messages"]] == ["system", "user", "assistant", "tool"]
    assert second["messages"][2]["tool_calls"][0]["function"]["name"] == "statistics"
    (tool,) = tool_messages(second)
    assert tool["tool_call_id"] == "call_0"
    assert "174" in tool["content"]
    assert len(tool["content"]) <= RESULT_CHARS
    assert all(h["authorization"] == f"Bearer {KEY}" for h in configured.headers)


async def test_refs_in_the_reply_become_citations_and_leave_the_text(
    seeded_db: Database, configured: FakeProvider
) -> None:
    def cite_by_ref(body: dict[str, Any]) -> dict[str, Any]:
        (tool,) = tool_messages(body)
        rows = json.loads(tool["content"])["observations"]
        kp = next(o for o in rows if o["metrics"].get("attacks") == 174)
        return completion(f"KP had 174 attacks in 2023 [{kp['ref']}] [item:made-up-item].")

    # Some servers send a tool call's arguments as an object rather than a JSON string.
    first = completion(calls=[KP_CALL])
    first["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = KP_CALL[1]
    configured.script(fixed(first), cite_by_ref)
    async with seeded_db.session() as session:
        answer = await provider.respond(session, KP_2023, {})

    assert answer.text == "KP had 174 attacks in 2023."
    assert answer.engine == MODEL
    assert answer.citations[0].type == "stat"
    assert all(c.id != "made-up-item" for c in answer.citations)
    tool_content = tool_messages(configured.requests[1])[0]["content"]
    assert f'"stat:{answer.citations[0].id}"' in tool_content


async def test_a_number_no_record_supports_never_reaches_the_user(
    seeded_db: Database, configured: FakeProvider
) -> None:
    configured.script(
        fixed(completion(calls=[KP_CALL])), fixed(completion("There were 9999 attacks."))
    )
    async with seeded_db.session() as session:
        answer = await provider.respond(session, KP_2023, {})
        await offline_fallback_matches(answer, session, KP_2023, "no record supports (9999)")

    assert "9999" not in answer.text
    assert len(configured.requests) == 2


async def test_a_tool_record_id_is_not_a_supported_number(
    seeded_db: Database, configured: FakeProvider
) -> None:
    """Observation ids travel in refs; stating one as a count is still an unsupported number."""

    def state_an_id(body: dict[str, Any]) -> dict[str, Any]:
        (tool,) = tool_messages(body)
        rows = json.loads(tool["content"])["observations"]
        shown = json.dumps([{k: v for k, v in o.items() if k != "ref"} for o in rows])
        known = supported_values([shown, body["messages"][0]["content"], KP_2023])
        ids = [o["ref"].removeprefix("stat:") for o in rows]
        return completion(f"There were {next(i for i in ids if Decimal(i) not in known)} attacks.")

    configured.script(fixed(completion(calls=[KP_CALL])), state_an_id)
    async with seeded_db.session() as session:
        answer = await provider.respond(session, KP_2023, {})
        await offline_fallback_matches(answer, session, KP_2023, "no record supports")


# --- the offline engine answers when the provider cannot ------------------------------------


async def test_no_provider_configured_means_the_offline_engine_answers(
    seeded_db: Database, fake: FakeProvider, configure: Callable[..., None]
) -> None:
    configure(base_url="", model=MODEL)
    fake.script(fixed(completion("never sent")))
    async with seeded_db.session() as session:
        answer = await provider.respond(session, KP_2023, {})
        expected = await engine.answer(session, KP_2023, {})

    assert answer == expected
    assert fake.requests == []


async def test_a_provider_slower_than_the_timeout_leaves_the_offline_answer(
    seeded_db: Database, configured: FakeProvider, configure: Callable[..., None]
) -> None:
    configure(timeout_seconds=0.5)

    async def slow(_body: dict[str, Any]) -> dict[str, Any]:
        await asyncio.sleep(2)
        return completion("Too late: 174.")

    configured.script(slow)
    async with seeded_db.session() as session:
        started = time.monotonic()
        answer = await provider.respond(session, KP_2023, {})
        waited = time.monotonic() - started
        await offline_fallback_matches(answer, session, KP_2023, "failed (timeout)")

    assert waited < 1.8
    assert len(configured.requests) == 1


async def test_an_http_error_leaves_the_offline_answer(
    seeded_db: Database, configured: FakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    configured.script(fixed(JSONResponse({"error": {"message": "boom"}}, status_code=500)))
    async with seeded_db.session() as session:
        with caplog.at_level(logging.DEBUG):
            answer = await provider.respond(session, KP_2023, {})
        await offline_fallback_matches(answer, session, KP_2023, "failed (HTTP 500)")

    assert "HTTP 500" in caplog.text
    assert KEY not in caplog.text


async def test_a_provider_that_is_not_listening_leaves_the_offline_answer(
    seeded_db: Database, configure: Callable[..., None]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    configure(base_url=f"http://127.0.0.1:{closed_port}/v1", model=MODEL)
    async with seeded_db.session() as session:
        answer = await provider.respond(session, KP_2023, {})
        await offline_fallback_matches(answer, session, KP_2023, "failed (could not connect)")


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ({"choices": []}, "malformed reply"),
        (completion(""), "malformed reply: no answer text"),
        ({"choices": [{"message": {"tool_calls": [{"id": "x"}]}}]}, "malformed reply"),
    ],
    ids=["no-choices", "empty-text", "broken-tool-call"],
)
async def test_a_malformed_reply_leaves_the_offline_answer(
    seeded_db: Database, configured: FakeProvider, reply: dict[str, Any], reason: str
) -> None:
    configured.script(fixed(reply))
    async with seeded_db.session() as session:
        answer = await provider.respond(session, KP_2023, {})
        await offline_fallback_matches(answer, session, KP_2023, f"failed ({reason}")


async def test_tool_calls_without_end_leave_the_offline_answer(
    seeded_db: Database, configured: FakeProvider, configure: Callable[..., None]
) -> None:
    configure(max_tool_rounds=2)
    configured.script(*[fixed(completion(calls=[("summary", {})]))] * 5)
    async with seeded_db.session() as session:
        answer = await provider.respond(session, KP_2023, {})
        await offline_fallback_matches(
            answer, session, KP_2023, "failed (still calling tools after 2 rounds)"
        )

    assert len(configured.requests) == 3


async def test_a_refused_tool_call_is_told_to_the_model_which_may_go_on(
    seeded_db: Database, configured: FakeProvider
) -> None:
    calls: list[tuple[str, dict[str, Any] | str]] = [
        ("no_such_tool", {}),
        ("statistics", "{not json"),
        ("statistics", {"year": "last year"}),
        ("trend", {"metric": "no-such-metric"}),
        ("get_item", {"slug": "no-such-item"}),
    ]
    configured.script(
        fixed(completion(calls=calls)), fixed(completion("The records cannot answer that."))
    )
    async with seeded_db.session() as session:
        answer = await provider.respond(session, "Which metric is that?", {})
        with pytest.raises(InvalidInput) as refused:
            await trends.trend(session, trends.TrendQuery(metric="no-such-metric"))

    assert answer.text == "The records cannot answer that."
    assert answer.engine == MODEL
    results = [json.loads(m["content"]) for m in tool_messages(configured.requests[1])]
    assert [m["tool_call_id"] for m in tool_messages(configured.requests[1])] == [
        f"call_{n}" for n in range(len(calls))
    ]
    assert all("error" in r for r in results)
    assert "no_such_tool" in results[0]["error"]
    assert "not valid JSON" in results[1]["error"]
    assert "year" in results[2]["error"]
    assert results[3]["error"] == refused.value.detail
    assert "no-such-item" in results[4]["error"]


# --- the tools, called directly -------------------------------------------------------------


async def test_each_tool_returns_small_json_and_remembers_what_it_showed(
    seeded_db: Database,
) -> None:
    async with seeded_db.session() as session:
        tools = Tools(session)
        calls = [
            ("search", {"q": "National Action Plan"}),
            ("get_item", {"slug": "nap-2014"}),
            ("trend", {"metric": "attacks", "group_by": "year"}),
            ("summary", {}),
            ("statistics", {}),
        ]
        contents = [await tools.call(name, json.dumps(args)) for name, args in calls]
    found, item, trend, summary, stats = (json.loads(c) for c in contents)

    assert found["results"] and all(r["ref"] in tools.records for r in found["results"])
    assert item["ref"] == "item:nap-2014" and item["status"]
    assert tools.records["item:nap-2014"].citation.url == "/api/v1/items/nap-2014"
    assert trend["series"] and trend["ref"] in tools.records
    assert summary["items"] > 0 and tools.records["record:summary"].citation.type == "record"
    assert stats["observations_left_out"] > 0 or stats["more_match"]
    assert all(len(c) <= RESULT_CHARS for c in contents)
    assert all(r["ref"] in tools.records for r in stats["observations"])


# --- the pure parts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "sources", "message", "unsupported"),
    [
        ("There were 174 attacks.", ['{"attacks": 174}'], "", []),
        ("There were 9999 attacks.", ['{"attacks": 174}'], "", ["9999"]),
        ("1,124 were injured.", ['{"injured": 1124}'], "", []),
        ("1124 were injured.", ["injured: 1,124"], "", []),
        ("Attacks fell 12.3%.", ['{"change_pct": 12.345}'], "", []),
        ("Attacks fell 12%.", ['{"change_pct": 12.345}'], "", []),
        ("Attacks fell 12.35%.", ['{"change_pct": 12.3}'], "", ["12.35"]),
        ("In 2023 there were 174.", ['{"attacks": 174}'], "attacks in 2023?", []),
        ("In 2023 there were 174.", ['{"attacks": 174}'], "attacks?", ["2023"]),
        ("174 and 175, then 175 again.", ["174"], "", ["175"]),
        ("۱۷۴ حملے", ['{"attacks": 174}'], "", []),
        ("No numbers here.", [], "", []),
        ("Section 3.1.2 says 5.", ["section 3.1.2: 5"], "", []),
        ("Section 3.1.9999 says 5.", ["section 3.1.2: 5"], "", ["9999"]),
        ("A rise of .9999 points.", ['{"value": 0.5}'], "", ["9999"]),
        ("A long 12345678901234567890123456789.5", ["12345678901234567890123456789.5"], "", []),
    ],
)
def test_unsupported_numbers(
    reply: str, sources: list[str], message: str, unsupported: list[str]
) -> None:
    assert unsupported_numbers(reply, sources, message) == unsupported


@pytest.mark.parametrize(
    ("reply", "text", "refs"),
    [
        (
            "KP had 174 attacks [stat:12], more than Balochistan [stat:13, item:x].",
            "KP had 174 attacks, more than Balochistan.",
            ["stat:12", "stat:13", "item:x"],
        ),
        ("KP had 174 attacks (stat:12).", "KP had 174 attacks.", ["stat:12"]),
        ("KP had 174 attacks, see stat:12.", "KP had 174 attacks, see.", ["stat:12"]),
        (
            "Rising [stat:trend?metric=attacks&group_by=year].",
            "Rising.",
            ["stat:trend?metric=attacks&group_by=year"],
        ),
        ("Twice [stat:12][stat:12].", "Twice.", ["stat:12"]),
        ("No refs [here] at all: item 3.", "No refs [here] at all: item 3.", []),
    ],
)
def test_split_refs(reply: str, text: str, refs: list[str]) -> None:
    assert split_refs(reply) == (text, refs)
