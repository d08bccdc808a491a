"""Search responses."""

from pydantic import BaseModel, Field


class SearchResult(BaseModel):
    type: str = Field(description="item, event, group, institution, place or statistics.")
    id: str = Field(description="The slug of an item, group, institution or place; an id else.")
    title: str
    snippet: str = Field(description="HTML-escaped text with the query's words in <mark>.")
    url: str = Field(description="The record's API address.")
    score: float = Field(description="Relevance; comparable within one response only.")


class SearchPage(BaseModel):
    query: str
    interpreted: str = Field(
        description="The query as searched: corrections applied, equivalents listed."
    )
    expansions: dict[str, list[str]] = Field(
        description="Each recognised word or phrase and the equivalents also searched for."
    )
    corrections: dict[str, str] = Field(description="Words replaced by the index's closest word.")
    notes: list[str]
    results: list[SearchResult]
    facets: dict[str, int] = Field(description="Matches of each type, whatever `type` asks for.")
    total: int
    next_cursor: str | None
