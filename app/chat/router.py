"""POST /chat, POST /chat/stream, GET /chat/conversations/{id}: public, no API key."""

import json
import re
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from sqlalchemy.ext.asyncio import AsyncSession
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.chat import service
from app.chat.schemas import CONVERSATION_ID_PATTERN, ChatIn, ChatOut, ConversationOut
from app.core.db import SessionDep, get_session

router = APIRouter(prefix="/chat", tags=["chat"])

# The same session dependency, ended when the endpoint returns rather than after the response
# is sent: the turn is committed before the client can see its answer, so a follow-up sent the
# moment the answer arrives finds the conversation, and a stream does not hold the write
# transaction (on SQLite, the database's one write lock) while the client reads it.
CommittedSession = Annotated[AsyncSession, Depends(get_session, scope="function")]

WORDS_PER_DELTA = 4
_WORD = re.compile(r"\s*\S+\s*")
NOT_FOUND = {404: {"description": "No such conversation, or it has expired."}}
INVALID = {422: {"description": "Empty or over-long message, or a malformed conversation id."}}


@router.post(
    "",
    response_model=ChatOut,
    summary="Ask a question; send conversation_id to continue a conversation",
    responses={**NOT_FOUND, **INVALID},
)
async def chat(body: ChatIn, session: CommittedSession) -> ChatOut:
    return await service.chat(session, body.message, body.conversation_id)


@router.post(
    "/stream",
    summary="The same answer as server-sent events",
    response_class=EventSourceResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "`meta` ({conversation_id}), then `delta` events ({text}: a few words "
            "each; joined, the answer), then `done` (the whole ChatOut).",
        },
        **NOT_FOUND,
        **INVALID,
    },
)
async def chat_stream(body: ChatIn, session: CommittedSession) -> EventSourceResponse:
    # Answered and stored before the first event, so a refusal is still an ordinary
    # problem+json response and the stream itself cannot fail halfway.
    out = await service.chat(session, body.message, body.conversation_id)
    return EventSourceResponse(_events(out))


async def _events(out: ChatOut) -> AsyncIterator[ServerSentEvent]:
    yield ServerSentEvent(json.dumps({"conversation_id": out.conversation_id}), event="meta")
    for chunk in deltas(out.answer):
        # JSON, not bare text: SSE data cannot carry a carriage return or a trailing newline.
        yield ServerSentEvent(json.dumps({"text": chunk}, ensure_ascii=False), event="delta")
    yield ServerSentEvent(out.model_dump_json(), event="done")


def deltas(text: str, words: int = WORDS_PER_DELTA) -> list[str]:
    """The text in chunks of a few words, split after the spaces between words, so that the
    chunks joined are the text exactly."""
    pieces = _WORD.findall(text) or ([text] if text else [])
    return ["".join(pieces[i : i + words]) for i in range(0, len(pieces), words)]


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    summary="A conversation's turns, in order",
    responses={**NOT_FOUND, **INVALID},
)
async def get_conversation(
    conversation_id: Annotated[str, Path(pattern=CONVERSATION_ID_PATTERN)],
    session: SessionDep,
) -> ConversationOut:
    return await service.get_conversation(session, conversation_id)
