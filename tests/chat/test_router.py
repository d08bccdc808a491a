"""The chat over HTTP on both engines: conversations, streaming, refusals and retention.

Answers' wording is not asserted (the engine is being rewritten); what is asserted is that
whatever was answered is stored and read back exactly as it was returned.
"""

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from httpx import AsyncClient, Response
from sqlalchemy import func, select, update

from app.chat import service
from app.chat.models import ChatConversation, ChatTurn
from app.core.errors import PROBLEM_JSON
from app.core.time import utcnow
from tests.conftest import Database

CHAT = "/api/v1/chat"
STREAM = "/api/v1/chat/stream"
CONVERSATIONS = "/api/v1/chat/conversations"
NOT_IN_DATA = "What is the GDP of Pakistan?"
QUESTION = "What is the status of the National Action Plan?"
FOLLOW_UP = "And what happened to it in 2023?"
ANSWER_KEYS = {"conversation_id", "position", "answer", "found", "citations", "as_of", "language"}
TURN_FIELDS = ("answer", "found", "citations", "as_of", "language", "engine")
UNKNOWN_ID = "A" * 32
EXPIRED = timedelta(days=100)


@pytest.fixture(autouse=True)
def purge_not_due() -> Iterator[None]:
    """chat() purges at most hourly per process; tests that want that purge ask for it."""
    previous = service._last_purge
    service._last_purge = utcnow()
    yield
    service._last_purge = previous


# --- helpers --------------------------------------------------------------------------------


def assert_problem(response: Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    return body


async def ask(client: AsyncClient, message: str, conversation_id: str | None = None) -> Any:
    body: dict[str, str] = {"message": message}
    if conversation_id is not None:
        body["conversation_id"] = conversation_id
    response = await client.post(CHAT, json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def conversation(client: AsyncClient, conversation_id: str) -> Any:
    response = await client.get(f"{CONVERSATIONS}/{conversation_id}")
    assert response.status_code == 200, response.text
    return response.json()


def events(response: Response) -> list[tuple[str, str]]:
    """(event, data) of each server-sent event, data lines joined as the SSE spec says."""
    parsed = []
    for block in re.split(r"\r\n\r\n|\n\n", response.text):
        name, data = "message", []
        for line in re.split(r"\r\n|\n", block):
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if data:
            parsed.append((name, "\n".join(data)))
    return parsed


async def age(db: Database, conversation_id: str, by: timedelta) -> None:
    """Make a conversation look idle since `by` ago, as if nobody had written to it since."""
    async with db.session() as session, session.begin():
        await session.execute(
            update(ChatConversation)
            .where(ChatConversation.id == conversation_id)
            .values(updated_at=utcnow() - by)
        )


async def stored(db: Database, conversation_id: str) -> tuple[bool, int]:
    """Whether the conversation row exists, and how many turns reference it."""
    async with db.session() as session:
        exists = await session.get(ChatConversation, conversation_id) is not None
        turns = await session.scalar(
            select(func.count())
            .select_from(ChatTurn)
            .where(ChatTurn.conversation_id == conversation_id)
        )
        return exists, turns or 0


async def run_cli(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    """`nigran ...` in its own process against the test's database (the CLI runs its own loop)."""
    command = [str(Path(sys.executable).parent / "nigran"), *args]
    env = {**os.environ, "DATABASE_URL": db.url, "NIGRAN_CHAT_RETENTION_DAYS": "90"}
    return await anyio.to_thread.run_sync(
        lambda: subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    )


# --- conversations --------------------------------------------------------------------------


async def test_a_new_conversation_gets_an_unguessable_id(client: AsyncClient) -> None:
    first = await ask(client, QUESTION)
    second = await ask(client, QUESTION)

    assert first.keys() >= ANSWER_KEYS
    assert re.fullmatch(r"[A-Za-z0-9_-]{32,}", first["conversation_id"])
    assert first["conversation_id"] != second["conversation_id"]
    assert first["position"] == 1
    assert isinstance(first["answer"], str) and isinstance(first["found"], bool)
    for citation in first["citations"]:
        assert {"type", "id", "title", "source", "url"} <= citation.keys()


async def test_a_question_outside_the_data_is_not_found(client: AsyncClient) -> None:
    answer = await ask(client, NOT_IN_DATA)

    assert answer["found"] is False


async def test_a_follow_up_is_turn_two_and_both_turns_read_back_exactly(
    client: AsyncClient,
) -> None:
    first = await ask(client, QUESTION)
    second = await ask(client, FOLLOW_UP, first["conversation_id"])

    assert second["conversation_id"] == first["conversation_id"]
    assert second["position"] == 2
    stored_conversation = await conversation(client, first["conversation_id"])
    assert stored_conversation["id"] == first["conversation_id"]
    turns = stored_conversation["turns"]
    assert [t["position"] for t in turns] == [1, 2]
    assert [t["message"] for t in turns] == [QUESTION, FOLLOW_UP]
    for turn, returned in zip(turns, (first, second), strict=True):
        assert {f: turn[f] for f in TURN_FIELDS} == {f: returned[f] for f in TURN_FIELDS}
    assert stored_conversation["updated_at"] >= stored_conversation["created_at"]


async def test_follow_ups_sent_at_once_each_take_their_own_position(
    client: AsyncClient,
) -> None:
    first = await ask(client, QUESTION)

    answers = await asyncio.gather(
        *(ask(client, f"{FOLLOW_UP} ({n})", first["conversation_id"]) for n in range(3))
    )

    assert sorted(a["position"] for a in answers) == [2, 3, 4]
    turns = (await conversation(client, first["conversation_id"]))["turns"]
    assert [t["position"] for t in turns] == [1, 2, 3, 4]


async def test_the_message_is_stored_without_surrounding_whitespace(
    client: AsyncClient,
) -> None:
    answer = await ask(client, f"  {NOT_IN_DATA}\n")

    turns = (await conversation(client, answer["conversation_id"]))["turns"]
    assert turns[0]["message"] == NOT_IN_DATA


async def test_an_unknown_conversation_is_404_and_starts_nothing(
    client: AsyncClient, seeded_db: Database
) -> None:
    response = await client.post(CHAT, json={"message": QUESTION, "conversation_id": UNKNOWN_ID})

    body = assert_problem(response, 404)
    assert body["field"] == "conversation_id"
    assert_problem(await client.get(f"{CONVERSATIONS}/{UNKNOWN_ID}"), 404)
    assert_problem(
        await client.post(STREAM, json={"message": QUESTION, "conversation_id": UNKNOWN_ID}), 404
    )
    async with seeded_db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ChatConversation)) == 0


@pytest.mark.parametrize(
    "conversation_id",
    ["short", "has spaces in it and is long enough", "a" * 65, "../../etc/passwd-aaaaaaaaaa"],
)
async def test_a_malformed_conversation_id_is_422(
    client: AsyncClient, conversation_id: str
) -> None:
    body = {"message": QUESTION, "conversation_id": conversation_id}

    problem = assert_problem(await client.post(CHAT, json=body), 422)
    assert "body.conversation_id" in [e["field"] for e in problem["errors"]]
    assert_problem(await client.post(STREAM, json=body), 422)


@pytest.mark.parametrize("conversation_id", ["short", "a" * 65, "not*allowed*chars*here"])
async def test_a_malformed_id_in_the_path_is_422(client: AsyncClient, conversation_id: str) -> None:
    assert_problem(await client.get(f"{CONVERSATIONS}/{conversation_id}"), 422)


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"message": ""}, "body.message"),
        ({"message": "   \n\t "}, "body.message"),
        ({"message": "x" * 1001}, "body.message"),
        ({"message": 42}, "body.message"),
        ({"message": None}, "body.message"),
        ({}, "body.message"),
        ({"conversation_id": UNKNOWN_ID}, "body.message"),
    ],
)
async def test_a_bad_message_is_422(
    client: AsyncClient, seeded_db: Database, body: dict[str, Any], field: str
) -> None:
    for url in (CHAT, STREAM):
        problem = assert_problem(await client.post(url, json=body), 422)
        assert field in [e["field"] for e in problem["errors"]]
    async with seeded_db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ChatTurn)) == 0


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ("not json", "application/json"),
        ('{"message": "unterminated', "application/json"),
        ('["a", "list"]', "application/json"),
        ('"a string"', "application/json"),
        ("message=hello", "application/x-www-form-urlencoded"),
        ("hello", "text/plain"),
        ("", "application/json"),
    ],
)
async def test_a_body_that_is_not_a_json_object_is_422(
    client: AsyncClient, content: str, content_type: str
) -> None:
    for url in (CHAT, STREAM):
        response = await client.post(url, content=content, headers={"content-type": content_type})
        assert_problem(response, 422)


async def test_a_message_of_exactly_the_limit_is_answered(client: AsyncClient) -> None:
    message = ("national action plan status " * 40)[:1000]

    answer = await ask(client, message)

    turns = (await conversation(client, answer["conversation_id"]))["turns"]
    assert turns[0]["message"] == message.strip()


# --- streaming ------------------------------------------------------------------------------


async def test_the_stream_sends_meta_deltas_and_done_and_stores_the_turn(
    client: AsyncClient,
) -> None:
    response = await client.post(STREAM, json={"message": QUESTION})

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    sent = events(response)
    names = [name for name, _ in sent]
    assert names[0] == "meta" and names[-1] == "done"
    assert set(names[1:-1]) == {"delta"}
    meta = json.loads(sent[0][1])
    done = json.loads(sent[-1][1])
    assert meta["conversation_id"] == done["conversation_id"]
    assert done.keys() >= ANSWER_KEYS
    chunks = [json.loads(data)["text"] for name, data in sent if name == "delta"]
    assert "".join(chunks) == done["answer"]
    assert all(chunk.strip() for chunk in chunks)

    stored_conversation = await conversation(client, done["conversation_id"])
    [turn] = stored_conversation["turns"]
    assert turn["message"] == QUESTION
    assert {f: turn[f] for f in TURN_FIELDS} == {f: done[f] for f in TURN_FIELDS}


async def test_the_stream_continues_a_conversation_like_post(client: AsyncClient) -> None:
    first = await ask(client, NOT_IN_DATA)

    response = await client.post(
        STREAM, json={"message": QUESTION, "conversation_id": first["conversation_id"]}
    )

    assert response.status_code == 200, response.text
    done = json.loads(events(response)[-1][1])
    assert (done["conversation_id"], done["position"]) == (first["conversation_id"], 2)
    turns = (await conversation(client, first["conversation_id"]))["turns"]
    assert [t["answer"] for t in turns] == [first["answer"], done["answer"]]


async def test_a_long_answer_arrives_in_several_chunks_of_a_few_words() -> None:
    from app.chat.router import deltas

    text = "  Attacks rose in 2023:\nthe report counts 306 in Khyber Pakhtunkhwa,  up by a third. "
    chunks = deltas(text)

    assert "".join(chunks) == text
    assert len(chunks) > 1
    assert all(len(chunk.split()) <= 4 for chunk in chunks)
    assert deltas("") == []


# --- retention ------------------------------------------------------------------------------


async def test_purge_removes_conversations_idle_past_retention_and_keeps_fresh_ones(
    client: AsyncClient, seeded_db: Database
) -> None:
    old = (await ask(client, QUESTION))["conversation_id"]
    await ask(client, FOLLOW_UP, old)
    fresh = (await ask(client, QUESTION))["conversation_id"]
    await age(seeded_db, old, EXPIRED)

    async with seeded_db.session() as session, session.begin():
        removed = await service.purge_expired(session, now=utcnow())

    assert removed == 1
    assert await stored(seeded_db, old) == (False, 0)
    assert await stored(seeded_db, fresh) == (True, 1)
    assert_problem(await client.get(f"{CONVERSATIONS}/{old}"), 404)
    await conversation(client, fresh)


async def test_retention_zero_keeps_conversations_forever(
    client: AsyncClient, seeded_db: Database
) -> None:
    old = (await ask(client, QUESTION))["conversation_id"]
    await age(seeded_db, old, timedelta(days=3650))

    async with seeded_db.session() as session, session.begin():
        removed = await service.purge_expired(session, now=utcnow(), retention_days=0)

    assert removed == 0
    assert await stored(seeded_db, old) == (True, 1)


async def test_an_expired_conversation_is_gone_even_before_it_is_purged(
    client: AsyncClient, seeded_db: Database
) -> None:
    old = (await ask(client, QUESTION))["conversation_id"]
    await age(seeded_db, old, EXPIRED)

    assert_problem(await client.get(f"{CONVERSATIONS}/{old}"), 404)
    response = await client.post(CHAT, json={"message": FOLLOW_UP, "conversation_id": old})
    assert_problem(response, 404)


async def test_chat_purges_at_most_once_an_hour(client: AsyncClient, seeded_db: Database) -> None:
    first = (await ask(client, QUESTION))["conversation_id"]
    second = (await ask(client, QUESTION))["conversation_id"]
    await age(seeded_db, first, EXPIRED)
    service._last_purge = utcnow() - timedelta(hours=2)

    await ask(client, NOT_IN_DATA)
    assert await stored(seeded_db, first) == (False, 0)

    await age(seeded_db, second, EXPIRED)
    await ask(client, NOT_IN_DATA)
    assert await stored(seeded_db, second) == (True, 1)


async def test_the_cli_purges_expired_conversations(
    client: AsyncClient, seeded_db: Database
) -> None:
    old = (await ask(client, QUESTION))["conversation_id"]
    fresh = (await ask(client, QUESTION))["conversation_id"]
    await age(seeded_db, old, EXPIRED)

    done = await run_cli(seeded_db, "chat", "purge")

    assert done.returncode == 0, done.stderr
    assert "purged 1 conversation" in done.stdout
    assert await stored(seeded_db, old) == (False, 0)
    assert await stored(seeded_db, fresh) == (True, 1)
