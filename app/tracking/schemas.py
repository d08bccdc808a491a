"""Request and response shapes for status updates, events, corrections and reviews."""

import re
from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

from app.core.types import StoredDate
from app.policies.schemas import Citation
from app.policies.vocabulary import EventType, Jurisdiction
from app.tracking.status import Status

_MARKUP = re.compile(r"<\s*[a-zA-Z/!?]")


def no_markup(value: str | None) -> str | None:
    """Plain text only: anything that looks like HTML or XML markup is refused."""
    if value is not None and _MARKUP.search(value):
        raise ValueError("must be plain text, without HTML or markup")
    return value


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EvidenceIn(Strict):
    """A source backing a claim: an address and/or a citation, with a title and a date."""

    # `_locates` below, in the schema: without it the schema accepts evidence that is refused.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["url"], "properties": {"url": {"type": "string"}}},
                {
                    "required": ["citation"],
                    "properties": {"citation": {"type": "string", "minLength": 1}},
                },
            ]
        }
    )
    url: HttpUrl | None = None
    citation: Annotated[str | None, Field(max_length=500)] = None
    title: Annotated[str, Field(min_length=3, max_length=300)]
    published: date

    _plain = field_validator("citation", "title")(no_markup)

    @model_validator(mode="after")
    def _locates(self) -> "EvidenceIn":
        if self.url is None and not self.citation:
            raise ValueError("evidence needs a url or a citation")
        return self

    def as_citation(self) -> dict[str, object]:
        cited = {"doc": "submitted", "title": self.title, "published": self.published.isoformat()}
        if self.url:
            cited["url"] = str(self.url)
        if self.citation:
            cited["section"] = self.citation
        return cited


Evidence = Annotated[
    list[EvidenceIn],
    Field(
        min_length=1,
        max_length=20,
        description="At least one source; an update without evidence is refused.",
    ),
]


class StatusUpdateIn(Strict):
    status: Status
    progress: Annotated[int | None, Field(ge=0, le=100)] = None
    note: Annotated[str, Field(min_length=3, max_length=4000)]
    effective_date: StoredDate
    jurisdiction: Jurisdiction | None = None
    evidence: Evidence

    _plain = field_validator("note")(no_markup)


class ReviewIn(Strict):
    reason: Annotated[str | None, Field(max_length=2000)] = None

    _plain = field_validator("reason")(no_markup)


class RejectIn(Strict):
    reason: Annotated[str, Field(min_length=3, max_length=2000)]

    _plain = field_validator("reason")(no_markup)


class EventIn(Strict):
    date: StoredDate
    type: EventType
    description: Annotated[str, Field(min_length=10, max_length=4000)]
    evidence: Evidence

    _plain = field_validator("description")(no_markup)


class CorrectionIn(Strict):
    message: Annotated[str, Field(min_length=10, max_length=4000)]
    proposed_status: Status | None = None
    contact: Annotated[str | None, Field(max_length=200)] = None
    evidence: Evidence

    _plain = field_validator("message", "contact")(no_markup)


class StatusUpdateOut(BaseModel):
    id: int
    item: str
    status: str
    progress: int | None
    note: str
    jurisdiction: str | None
    effective_date: date
    recorded_at: datetime
    author: str
    review_state: str
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_reason: str | None
    evidence: list[Citation]


class EventOut(BaseModel):
    id: int
    item: str
    date: date
    type: str
    description: str
    author: str
    review_state: str
    sources: list[Citation]


class CorrectionOut(BaseModel):
    id: int
    item: str
    message: str
    proposed_status: str | None
    submitted_at: datetime
    review_state: str
    reviewed_by: str | None
    review_reason: str | None
    evidence: list[Citation]


class QueuePage(BaseModel):
    status_updates: list[StatusUpdateOut]
    events: list[EventOut]
    corrections: list[CorrectionOut]
