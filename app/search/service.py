"""Search: the engines find, one shared step orders what they found.

Recall is the engines' own: SQLite FTS5 (porter stemming, diacritics folded) ranked by `bm25()`
and PostgreSQL tsvector ranked by `ts_rank_cd`, with the same column weights (names 1.0, tags
0.4, body 0.1), keep the best candidates. Their scores disagree on close calls, so the final
order comes from app.search.ranking, computed alike on both engines; a test checks that both
put the same records on top over a query set.

A query first needs every word (or one of its equivalents); if that finds little, unknown words
are corrected from the index's own vocabulary, and if it still finds little, any word will do.
The answer says which of these happened (`interpreted`).
"""

import html
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import transaction_memo
from app.core.pagination import encode_cursor
from app.incidents.models import MilitantGroup, Place
from app.policies.models import Institution
from app.search.index import INDEX_STATE
from app.search.models import SearchEntry
from app.search.query import (
    ParsedQuery,
    Slot,
    Vocabulary,
    build_vocabulary,
    corrected,
    parse,
    stem,
    words,
)
from app.search.ranking import Corpus, final_scores
from app.search.schemas import SearchPage, SearchResult

TYPES = ("item", "event", "group", "institution", "place", "statistics")
CANDIDATES = 200
FEW = 3
SNIPPET_WORDS = 28


@dataclass
class _Hit:
    id: int
    type: str
    key: str
    title: str
    url: str
    body: str
    engine_score: float
    score: float = 0.0


@dataclass
class IndexState:
    version: tuple[int, int]
    vocabulary: Vocabulary
    known_words: frozenset[str]
    corpus: Corpus


# Per database (a process may serve several, as the tests do), the few most recent.
_states: dict[str, IndexState] = {}
STATES_KEPT = 4


async def index_state(session: AsyncSession) -> IndexState:
    """The query vocabulary, the index's words and its statistics, rebuilt when it changes.

    Upkeep replaces entries (new ids), so the newest id and the count change with every write.
    A session checks once: the chat searches several times to answer one message."""
    memo = transaction_memo(session)
    known = memo.get(INDEX_STATE)
    if known is not None:
        return known  # type: ignore[no-any-return]
    database = session.get_bind().url.render_as_string(hide_password=True)
    newest, count = (
        await session.execute(select(func.max(SearchEntry.id), func.count(SearchEntry.id)))
    ).one()
    version = (newest or 0, count)
    state = _states.get(database)
    if state is None or state.version != version:
        name_sets: list[list[str]] = []
        for row in await session.execute(
            select(MilitantGroup.name, MilitantGroup.full_name, MilitantGroup.aliases)
        ):
            name_sets.append([row.name, row.full_name, *row.aliases])
        for model in (Place, Institution):
            for name, aliases in await session.execute(select(model.name, model.aliases)):
                name_sets.append([name, *aliases])
        rows = [
            (row[0], row[1], row[2], row[3])
            for row in await session.execute(
                select(SearchEntry.id, SearchEntry.names, SearchEntry.tags, SearchEntry.body)
            )
        ]
        known = frozenset(w for row in rows for text in row[1:] for w in words(text))
        state = IndexState(version, build_vocabulary(name_sets), known, Corpus.build(rows))
        _states.pop(database, None)
        _states[database] = state
        while len(_states) > STATES_KEPT:
            del _states[next(iter(_states))]
    memo[INDEX_STATE] = state
    return state


def _fts5_match(slots: Sequence[Slot], every: bool) -> str:
    groups = [
        "(" + " OR ".join('"' + " ".join(alt) + '"' for alt in slot.alternatives) + ")"
        for slot in slots
    ]
    return (" AND " if every else " OR ").join(groups)


def _tsquery(slots: Sequence[Slot], every: bool) -> tuple[str, dict[str, str]]:
    """A tsquery expression of websearch_to_tsquery() terms, one per alternative."""
    params: dict[str, str] = {}
    groups = []
    for s, slot in enumerate(slots):
        terms = []
        for a, alt in enumerate(slot.alternatives):
            name = f"t{s}_{a}"
            params[name] = " ".join(alt) if len(alt) == 1 else '"' + " ".join(alt) + '"'
            terms.append(f"websearch_to_tsquery('english', :{name})")
        groups.append("(" + " || ".join(terms) + ")")
    return (" && " if every else " || ").join(groups), params


async def _engine_hits(
    session: AsyncSession,
    slots: Sequence[Slot],
    every: bool,
    types: Sequence[str],
    count: bool = True,
) -> tuple[list[_Hit], Counter[str]]:
    """The engine's best candidates and the number of matches of each type (without `count`,
    of the candidates only: one full match fewer)."""
    columns = "e.id, e.type, e.key, e.title, e.url, e.body"
    type_filter = "AND e.type IN :types" if types else ""
    if session.get_bind().dialect.name == "postgresql":
        query, params = _tsquery(slots, every)
        source = f"search_entry e, (SELECT {query} AS q) AS tsq"
        condition = "e.document @@ tsq.q"
        score = "ts_rank_cd('{0.0, 0.1, 0.4, 1.0}', e.document, tsq.q)"
    else:
        params = {"match": _fts5_match(slots, every)}
        source = "search_fts JOIN search_entry e ON e.id = search_fts.rowid"
        condition = "search_fts MATCH :match"
        score = "-bm25(search_fts, 10.0, 4.0, 1.0)"
    ranked = text(
        f"SELECT {columns}, {score} AS score FROM {source} WHERE {condition} {type_filter} "
        f"ORDER BY score DESC, e.id LIMIT {CANDIDATES}"
    )
    if types:
        ranked = ranked.bindparams(bindparam("types", expanding=True))
    rows = (
        await session.execute(ranked, {**params, "types": list(types)} if types else params)
    ).all()
    hits = [_Hit(*row[:6], engine_score=float(row[6])) for row in rows]
    if not count or (len(rows) < CANDIDATES and not types):
        return hits, Counter(h.type for h in hits)
    counted = text(f"SELECT e.type, count(*) FROM {source} WHERE {condition} GROUP BY e.type")
    return hits, Counter(dict((await session.execute(counted, params)).all()))


def _rank(hits: list[_Hit], parsed: ParsedQuery, corpus: Corpus) -> list[_Hit]:
    scores = final_scores(corpus, parsed, [(h.id, h.type, h.engine_score) for h in hits])
    for hit in hits:
        hit.score = scores[hit.id]
    return sorted(hits, key=lambda h: (-h.score, h.id))


@lru_cache(maxsize=1 << 16)
def _token_stems(token: str) -> frozenset[str]:
    return frozenset(stem(w) for w in words(token))


def snippet(body: str, parsed: ParsedQuery) -> str:
    """A short, HTML-escaped passage of the body with the query's words in <mark>."""
    wanted = {term for slot in parsed.slots for alt in slot.stemmed for term in alt}
    tokens = body.replace("\n", " ").split()
    if not tokens:
        return ""
    first = next((i for i, t in enumerate(tokens) if not wanted.isdisjoint(_token_stems(t))), 0)
    start = max(0, first - SNIPPET_WORDS // 3)
    shown = tokens[start : start + SNIPPET_WORDS]
    marked = [
        f"<mark>{html.escape(t)}</mark>"
        if not wanted.isdisjoint(_token_stems(t))
        else html.escape(t)
        for t in shown
    ]
    prefix = "… " if start else ""
    suffix = " …" if start + SNIPPET_WORDS < len(tokens) else ""
    return prefix + " ".join(marked) + suffix


async def search(
    session: AsyncSession,
    q: str,
    *,
    types: Sequence[str] = (),
    limit: int = 10,
    offset: int = 0,
    count: bool = True,
) -> SearchPage:
    """Ranked results; `count=False` (the chat, which reads only the results) skips counting
    every match, so `facets` and `total` then count the candidates ranked."""
    state = await index_state(session)
    parsed = parse(q, state.vocabulary)
    hits, facets = await _engine_hits(session, parsed.slots, True, types, count)
    notes: list[str] = []
    if len(hits) < FEW and corrected(parsed, state.known_words, state.vocabulary):
        fixed, fixed_facets = await _engine_hits(session, parsed.slots, True, types, count)
        if len(fixed) > len(hits):
            hits, facets = fixed, fixed_facets
            notes.append("showing results for " + parsed.interpreted())
        else:
            parsed.corrections.clear()
    if len(hits) < FEW and len(parsed.slots) > 1:
        seen = {h.id for h in hits}
        loose, loose_facets = await _engine_hits(session, parsed.slots, False, types, count)
        extra = [h for h in loose if h.id not in seen]
        if extra:
            notes.append("few records hold every word; also showing records with some of them")
            hits = _rank(hits, parsed, state.corpus) + _rank(extra, parsed, state.corpus)
            facets = loose_facets
        else:
            hits = _rank(hits, parsed, state.corpus)
    else:
        hits = _rank(hits, parsed, state.corpus)
    page = hits[offset : offset + limit]
    more = offset + limit < len(hits)
    return SearchPage(
        query=q,
        interpreted=parsed.interpreted(),
        expansions=parsed.expansions,
        corrections=parsed.corrections,
        notes=notes,
        results=[
            SearchResult(
                type=h.type,
                id=h.key,
                title=h.title,
                snippet=snippet(h.body, parsed) or html.escape(h.title),
                url=h.url,
                score=h.score,
            )
            for h in page
        ],
        facets={t: facets.get(t, 0) for t in TYPES},
        total=sum(facets.values()) if not types else sum(facets[t] for t in types),
        next_cursor=encode_cursor(offset + limit) if more else None,
    )


async def ranked_keys(session: AsyncSession, q: str, type_: str) -> list[str]:
    """Every matching record of one type, best first (the order of GET /items?q=)."""
    page = await search(session, q, types=(type_,), limit=CANDIDATES)
    return [r.id for r in page.results]
