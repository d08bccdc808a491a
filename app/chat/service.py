"""Conversations: answer a message in its conversation, store the turn, read it back, forget it."""

import secrets
from datetime import datetime, timedelta
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import provider
from app.chat.models import ChatConversation, ChatTurn
from app.chat.schemas import ChatCitation, ChatOut, ConversationOut, TurnOut
from app.core.config import get_settings
from app.core.errors import NotFound
from app.core.time import utcnow

PURGE_EVERY = timedelta(hours=1)
# When this process last purged expired conversations; chat() purges at most once per PURGE_EVERY.
_last_purge: datetime | None = None


def new_conversation_id() -> str:
    """32 url-safe characters (144 random bits): the id is the only key to a conversation."""
    return secrets.token_urlsafe(24)


def _cutoff(now: datetime, retention_days: int | None = None) -> datetime | None:
    """Conversations last updated before this are expired; None when they are kept forever."""
    days = get_settings().chat_retention_days if retention_days is None else retention_days
    return now - timedelta(days=days) if days > 0 else None


async def _conversation(
    session: AsyncSession, conversation_id: str, *, now: datetime, for_update: bool = False
) -> ChatConversation:
    """The conversation, or 404; an expired one not yet purged is as gone as a purged one."""
    conversation = await session.get(
        ChatConversation, conversation_id, with_for_update=for_update or None
    )
    cutoff = _cutoff(now)
    if conversation is None or (cutoff is not None and conversation.updated_at < cutoff):
        raise NotFound(
            "no such conversation; it may have expired. Send the message without "
            "conversation_id to start a new one.",
            field="conversation_id",
        )
    return conversation


async def chat(session: AsyncSession, message: str, conversation_id: str | None) -> ChatOut:
    """Answer `message`, leaning on the previous turn's context, and store the turn."""
    now = utcnow()
    await _purge_if_due(session, now=now)
    previous: ChatTurn | None = None
    if conversation_id is None:
        conversation = ChatConversation(id=new_conversation_id(), created_at=now, updated_at=now)
        session.add(conversation)
    else:
        # The row lock (PostgreSQL; SQLite's write lock already serialises) keeps two messages
        # sent at once to one conversation from both taking the same position.
        conversation = await _conversation(session, conversation_id, now=now, for_update=True)
        previous = await session.scalar(
            select(ChatTurn)
            .where(ChatTurn.conversation_id == conversation.id)
            .order_by(ChatTurn.position.desc())
            .limit(1)
        )

    answer = await provider.respond(session, message, dict(previous.context) if previous else {})

    citations = [c.model_dump(mode="json") for c in answer.citations]
    turn = ChatTurn(
        conversation_id=conversation.id,
        position=previous.position + 1 if previous else 1,
        message=message,
        answer=answer.text,
        found=answer.found,
        citations=citations,
        as_of=answer.as_of,
        # Cut to the columns' widths: a provider's model name must not turn an answer into a 500.
        language=answer.language[:5],
        engine=answer.engine[:80],
        context=_jsonable(answer.context),
        created_at=now,
    )
    conversation.updated_at = now
    session.add(turn)
    await session.flush()
    return ChatOut(
        conversation_id=conversation.id,
        position=turn.position,
        answer=turn.answer,
        found=turn.found,
        citations=[ChatCitation.model_validate(c) for c in citations],
        as_of=turn.as_of,
        language=turn.language,
        engine=turn.engine,
        notes=list(answer.notes),
    )


def _jsonable(context: dict[str, Any]) -> dict[str, Any]:
    """The context as the JSON column will hand it back (dates become ISO strings)."""
    return to_jsonable_python(context)  # type: ignore[no-any-return]


async def get_conversation(session: AsyncSession, conversation_id: str) -> ConversationOut:
    """A conversation and its turns in order, each answer exactly as it was returned."""
    conversation = await _conversation(session, conversation_id, now=utcnow())
    turns = await session.scalars(
        select(ChatTurn)
        .where(ChatTurn.conversation_id == conversation.id)
        .order_by(ChatTurn.position)
    )
    return ConversationOut(
        id=conversation.id,
        created_at=conversation.created_at,
        updated_at=conversation.updated_at,
        turns=[
            TurnOut(
                position=t.position,
                message=t.message,
                answer=t.answer,
                found=t.found,
                citations=[ChatCitation.model_validate(c) for c in t.citations],
                as_of=t.as_of,
                language=t.language,
                engine=t.engine,
                created_at=t.created_at,
            )
            for t in turns
        ],
    )


async def purge_expired(
    session: AsyncSession, *, now: datetime, retention_days: int | None = None
) -> int:
    """Delete conversations (their turns cascade) idle for longer than the retention period.

    `retention_days` defaults to the `chat_retention_days` setting; 0 keeps everything.
    Returns how many conversations were deleted.
    """
    cutoff = _cutoff(now, retention_days)
    if cutoff is None:
        return 0
    result = await session.execute(
        delete(ChatConversation).where(ChatConversation.updated_at < cutoff),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def _purge_if_due(session: AsyncSession, *, now: datetime) -> None:
    """Purge from the chat's own traffic, so retention holds without a scheduled job."""
    global _last_purge
    if _last_purge is not None and now - _last_purge < PURGE_EVERY:
        return
    _last_purge = now
    await purge_expired(session, now=now)
