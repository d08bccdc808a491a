"""Chat conversations and their turns, kept so a follow-up can lean on what came before."""

from datetime import date, datetime
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.time import utcnow
from app.core.types import AwareDateTime, JSONValue


class ChatConversation(SQLModel, table=True):
    """One conversation; its id is the only key to it, so it is long and random."""

    __tablename__ = "chat_conversation"

    id: str = Field(primary_key=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
    # Indexed: retention deletes by it.
    updated_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime, index=True)


class ChatTurn(SQLModel, table=True):
    """One message and the answer given to it, exactly as it was returned."""

    __tablename__ = "chat_turn"
    __table_args__ = (UniqueConstraint("conversation_id", "position"),)

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(
        foreign_key="chat_conversation.id", index=True, ondelete="CASCADE", max_length=64
    )
    position: int
    message: str
    answer: str
    found: bool
    citations: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONValue, nullable=False)
    )
    as_of: date | None = None
    language: str = Field(default="en", max_length=5)
    engine: str = Field(max_length=80)
    # What the next turn may lean on: the entities and kind of question of this one.
    context: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONValue, nullable=False)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=AwareDateTime)
