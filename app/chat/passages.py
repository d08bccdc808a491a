"""Finding the sentence that answers a question in words.

The search service finds the records the question is about; their indexed text (summaries,
approved status notes, event descriptions, group and institution notes) is cut into sentences,
and each sentence is scored by the question's words it holds (in any of their equivalent forms,
weighted by how rare they are in the index), by whether it holds the kind of thing asked for (a
date for "when", a name for "who", a number for "how many"), and by its record's rank.
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.question import Question
from app.core.errors import InvalidInput
from app.core.names import normalise_name
from app.search import service as search
from app.search.models import SearchEntry
from app.search.query import Slot, Vocabulary, parse, stem, words
from app.search.ranking import Corpus

SENTENCE = re.compile(r"(?<=[.!?;])\s+(?=[A-Z0-9\"'(])")
NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")
YEARLIKE = re.compile(r"^(?:19|20)\d\d$")
PROPER_NAME = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)+")
QUESTION_WORDS = {
    "how", "many", "much", "when", "who", "whom", "which", "what", "where", "why", "did", "does",
    "do", "was", "were", "is", "are", "the", "a", "an", "of", "in", "on", "to", "for", "and", "or",
    "there", "ever", "any", "has", "have", "had", "been", "be", "by", "with", "its", "it", "that",
    "this", "them", "they", "their", "from", "at", "as", "about", "tell", "me", "please", "get",
    "got", "give", "say", "says", "said", "report", "pips", "pakistan", "pakistans", "s",
    "recommend", "recommends", "recommended", "recommendation", "recommendations", "section",
    "want", "wants", "wanted", "play", "plays", "role", "think", "thinks", "view",
}  # fmt: skip
INSTITUTIONAL = re.compile(
    r"\b(?:Policy|Plan|Act|Amendment|Ordinance|Curriculum|Committee|Authority|Division|Department|Court|Courts)\b"
)
MONTH_NAMES = [
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
]  # fmt: skip


@dataclass
class Passage:
    text: str
    type: str
    key: str
    title: str
    url: str
    score: float
    coverage: float
    about: str = ""  # the record's names and tags: what the passage is about besides its words


def _with_subject(sentence: str, entry: SearchEntry) -> str:
    """A sentence that does not name its record is led by the record's name ("FIA: ...")."""
    name = entry.title.split(":")[0] if entry.type == "event" else entry.title
    name_words = {stem(w) for w in words(name)}
    if name_words and len(name_words & {stem(w) for w in words(sentence)}) >= min(
        2, len(name_words)
    ):
        return sentence
    short = name if len(name) <= 80 else name[:77] + "..."
    return f"{short}: {sentence}"


def content_slots(question: Question, vocabulary: Vocabulary, extra: str = "") -> list[Slot]:
    """The question's subject words, each with its equivalents; the groups and places it names
    count as one slot each, under their canonical names ("IS-K", not "is" and "k")."""
    named = {w for name in question.entities.values() for w in words(name)}
    text = " ".join(
        w
        for w in words(f"{question.english} {extra}")
        if w not in QUESTION_WORDS and w not in named and (len(w) > 1 or w.isdigit())
    )
    slots: list[Slot] = []
    if text.strip():
        try:
            slots = parse(text, vocabulary).slots
        except InvalidInput:
            slots = []
    for name in dict.fromkeys(question.entities.values()):
        slots.append(Slot(text=name, alternatives=(tuple(words(name)),)))
    return slots


def _weight(slot: Slot, corpus: Corpus) -> float:
    best = 0.0
    for alt in slot.alternatives:
        idf = sum(corpus.idf(stem(w)) for w in alt) / len(alt)
        best = max(best, idf)
    return best


ENTITY_BONUS = 1.5
SUBJECT_BONUS = 4.0
RECOMMENDATION_KINDS = ("recommendation", "report section")


@lru_cache(maxsize=4096)
def _sentences(body: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Each sentence of an index entry and its stemmed words, worked out once per text."""
    split = (raw.strip() for raw in SENTENCE.split(body.replace("\n", " ")))
    return tuple((sentence, tuple(stem(w) for w in words(sentence))) for sentence in split)


def _names_entity(text: str, entity_stems: list[set[str]]) -> bool:
    stems = {stem(w) for w in words(text)}
    return any(e <= stems for e in entity_stems)


def _holds(slot: Slot, stems: set[str]) -> bool:
    return any(all(term in stems for term in alt) for alt in slot.stemmed)


def _says(slot: Slot, sequence: tuple[str, ...], stems: set[str]) -> bool:
    """The slot in one of its forms, its words side by side ("national security policy" is not
    in "National Internal Security Policy"). `stems` is the sequence as a set."""
    for wanted in slot.stemmed:
        if not all(term in stems for term in wanted):
            continue
        n = len(wanted)
        if n == 1 or any(sequence[i : i + n] == wanted for i in range(len(sequence) - n + 1)):
            return True
    return False


def _type_bonus(kind: str, sentence: str, asked: set[str]) -> float:
    if kind == "when":
        return 2.0 if re.search(r"\b(?:19|20)\d\d\b", sentence) else -4.0
    if kind == "who":
        names = [
            n for n in PROPER_NAME.findall(sentence) if not {stem(w) for w in words(n)} <= asked
        ]
        return 1.2 if names else 0.0
    if kind in ("count", "most"):
        numbers = [n for n in NUMBER.findall(sentence) if not YEARLIKE.match(n)]
        return 1.5 if numbers else -3.0
    return 0.0


async def best_passages(
    session: AsyncSession,
    question: Question,
    *,
    extra: str = "",
    item_slug: str | None = None,
    limit: int = 2,
    recommendations_only: bool = False,
) -> list[Passage]:
    state = await search.index_state(session)
    slots = content_slots(question, state.vocabulary, extra)
    if not slots:
        return []
    query = " ".join(" ".join(s.alternatives[0]) for s in slots)
    try:
        types = ("item",) if recommendations_only else ()
        results = (
            await search.search(
                session, query, types=types, limit=10 if not types else 30, count=False
            )
        ).results
    except InvalidInput:
        results = []
    keys = [(r.type, r.id) for r in results]
    rank = {k: i for i, k in enumerate(keys)}
    statement = select(SearchEntry)
    if item_slug:
        statement = statement.where(
            tuple_(SearchEntry.type, SearchEntry.key).in_(keys)
            | (SearchEntry.item_slug == item_slug)
        )
    elif keys:
        statement = statement.where(tuple_(SearchEntry.type, SearchEntry.key).in_(keys))
    else:
        return []
    entries = list(await session.scalars(statement))
    weights = [_weight(s, state.corpus) for s in slots]
    asked = {stem(w) for w in words(question.english)}
    entity_stems = [{stem(w) for w in words(name)} for name in question.entities.values()]
    entity_names = {
        normalise_name(n) for n in (*question.entities.values(), *question.entity_words)
    }
    total = sum(weights) or 1.0
    found: list[Passage] = []
    for entry in entries:
        if recommendations_only and not entry.tags.startswith("recommendation"):
            continue
        position = rank.get((entry.type, entry.key), len(keys))
        boost = 1.2 / (position + 1) + (0.8 if item_slug and entry.item_slug == item_slug else 0.0)
        title_stems = {stem(w) for w in words(f"{entry.title} {entry.names} {entry.tags}")}
        # The record of the group or place asked about is the likeliest to answer about it.
        if entity_names & {normalise_name(n) for n in entry.names.split("\n") if n.strip()}:
            boost += SUBJECT_BONUS
        previous: set[str] = set()
        for sentence, sequence in _sentences(entry.body):
            stems = set(sequence)
            if len(sentence) < 20:
                previous = stems
                continue
            # Words the sentence lacks may stand in its record's name or the sentence before.
            around = title_stems | previous
            previous = stems
            held = sum(w for s, w in zip(slots, weights, strict=True) if _says(s, sequence, stems))
            titled = sum(
                w
                for s, w in zip(slots, weights, strict=True)
                if not _says(s, sequence, stems) and _holds(s, around)
            )
            if not held:
                continue
            text = _with_subject(sentence, entry)
            found.append(
                Passage(
                    text=text,
                    type=entry.type,
                    key=entry.key,
                    title=entry.title,
                    url=entry.url,
                    score=held
                    + 0.5 * titled
                    + _type_bonus(question.kind, sentence, asked)
                    + boost
                    + 3.0 * (held + 0.7 * titled) / total
                    + (
                        1.0
                        if recommendations_only and entry.tags.startswith("recommendation")
                        else 0.0
                    )
                    + (
                        ENTITY_BONUS
                        if _names_entity(sentence + " " + entry.title, entity_stems)
                        else 0.0
                    ),
                    coverage=(held + 0.7 * titled) / total,
                    about=f"{entry.names} {entry.tags}",
                )
            )
    found.sort(key=lambda p: -p.score)
    return found[:limit]
