"""Chat requests and answers."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

MAX_MESSAGE = 1000
# Ids are secrets.token_urlsafe(24): 32 url-safe characters; the pattern leaves room to grow.
CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9_-]{16,64}$"

Message = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_MESSAGE)
]


class ChatIn(BaseModel):
    message: Message
    conversation_id: Annotated[str, StringConstraints(pattern=CONVERSATION_ID_PATTERN)] | None = (
        None
    )


class ChatCitation(BaseModel):
    type: Literal["item", "stat", "event", "group", "section", "place", "institution", "record"]
    id: str
    title: str
    source: str = Field(description="The document and its table or section.")
    url: str


class ChatOut(BaseModel):
    conversation_id: str
    position: int = Field(description="The turn's number in its conversation, from 1.")
    answer: str
    found: bool
    citations: list[ChatCitation]
    as_of: date | None = Field(description="The date the facts stated are true as of.")
    language: str = Field(description="en or ur: the language of the answer.")
    engine: str = Field(description="offline, or the provider's model when one phrased it.")
    notes: list[str] = []


class TurnOut(BaseModel):
    position: int
    message: str
    answer: str
    found: bool
    citations: list[ChatCitation]
    as_of: date | None
    language: str
    engine: str
    created_at: datetime


class ConversationOut(BaseModel):
    id: str
    created_at: datetime
    updated_at: datetime
    turns: list[TurnOut]
