"""The offline chat engine: understand the question, look the facts up, say them briefly.

No model and no download: the question is read against the data's own names and aliases and a
small lexicon (policy_data/search/), numbers come from the statistics through the same service
functions as the API, passages from the search service, and the answer is composed from the
records that matched, each one cited.
"""

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.schemas import ChatCitation


@dataclass
class Answer:
    text: str
    found: bool
    citations: list[ChatCitation]
    as_of: date | None = None
    language: str = "en"
    # What a follow-up may lean on: the entities and the kind of question of this turn.
    context: dict[str, Any] = field(default_factory=dict)
    engine: str = "offline"
    notes: list[str] = field(default_factory=list)


async def answer(
    session: AsyncSession, message: str, context: dict[str, Any] | None = None
) -> Answer:
    """Answer one message, leaning on the previous turn's context for follow-ups."""
    from app.chat.compose import compose

    return await compose(session, message, context or {})
