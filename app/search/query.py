"""Understanding a query: words, the data's aliases, the field's synonyms, typo corrections.

A query becomes a list of slots, one per word or recognised phrase, each with its alternatives
("madrasa" -> madrassa, seminary, deeni madaris, ...). Only letters and digits survive, so what a
user types can never be read as the engines' query syntax (quotes, *, -, :, NEAR, parentheses).
"""

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import yaml
from rapidfuzz import fuzz, process

from app.core.config import get_settings
from app.core.errors import InvalidInput

MAX_QUERY_LENGTH = 200
MAX_PHRASE = 6
WORD = re.compile(r"[^\W_]+", re.UNICODE)


def strip_diacritics(text: str) -> str:
    """'Ẓarb-e-ʿAzb' -> 'Zarb-e-ʿAzb': what both engines index, case kept for snippets."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c))
    )


# The chat and the snippets fold the same sentences of the index on every request.
@lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Lower case without diacritics, as query words are compared."""
    return strip_diacritics(text).casefold()


def stem(word: str) -> str:
    """A crude stem for comparing words in Python (the engines stem properly): 'registering',
    'registration' -> 'regist'; 'madrassa', 'madrasa' -> 'madras'."""
    return word[:6] if len(word) > 6 else word.rstrip("s")


def words(text: str) -> list[str]:
    return WORD.findall(fold(text))


@dataclass(frozen=True)
class Slot:
    """One word or phrase of the query and what else it may be written as."""

    text: str
    alternatives: tuple[tuple[str, ...], ...]  # the first is what the user wrote

    @cached_property
    def stemmed(self) -> tuple[tuple[str, ...], ...]:
        """The alternatives' words stemmed, as ranking compares them (once per query)."""
        return tuple(tuple(stem(w) for w in alt) for alt in self.alternatives)


@dataclass
class ParsedQuery:
    original: str
    slots: list[Slot]
    expansions: dict[str, list[str]] = field(default_factory=dict)
    corrections: dict[str, str] = field(default_factory=dict)

    def interpreted(self) -> str:
        """The query as searched, for people: corrections applied, expansions listed."""
        text = " ".join(self.corrections.get(s.text, s.text) for s in self.slots)
        if self.expansions:
            extra = "; ".join(
                f"{k} = {', '.join(v[:4])}{', …' if len(v) > 4 else ''}"
                for k, v in self.expansions.items()
            )
            text += f" ({extra})"
        return text


@dataclass(frozen=True)
class Vocabulary:
    """Phrase (folded words joined by spaces) -> the other phrases that mean the same."""

    equivalents: dict[str, tuple[str, ...]]
    stopwords: frozenset[str]
    longest: int


@lru_cache
def field_vocabulary(
    path: Path | None = None,
) -> tuple[tuple[tuple[str, ...], ...], frozenset[str]]:
    """policy_data/search/vocabulary.yaml: synonym sets and stopwords."""
    source = path or get_settings().policy_data_dir / "search" / "vocabulary.yaml"
    if not source.exists():
        return (), frozenset()
    raw = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    sets = tuple(
        tuple(dict.fromkeys(" ".join(words(str(term))) for term in group if words(str(term))))
        for group in raw.get("synonyms", [])
    )
    return sets, frozenset(" ".join(words(str(w))) for w in raw.get("stopwords", []))


def build_vocabulary(name_sets: Iterable[Iterable[str]]) -> Vocabulary:
    """The field's synonym sets plus one set per group, place and institution (its spellings)."""
    synonym_sets, stopwords = field_vocabulary()
    equivalents: dict[str, list[str]] = {}
    for group in (*synonym_sets, *name_sets):
        phrases = list(dict.fromkeys(" ".join(words(t)) for t in group if words(t)))
        for phrase in phrases:
            known = equivalents.setdefault(phrase, [])
            known += [p for p in phrases if p != phrase and p not in known]
    longest = max((len(p.split()) for p in equivalents), default=1)
    return Vocabulary(
        equivalents={k: tuple(v) for k, v in equivalents.items()},
        stopwords=stopwords,
        longest=min(longest, MAX_PHRASE),
    )


def check_query(q: str) -> str:
    text = q.strip()
    if not text:
        raise InvalidInput("the query is empty; type a few words", field="q")
    if len(text) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"the query is longer than {MAX_QUERY_LENGTH} characters", field="q")
    if not words(text):
        raise InvalidInput("the query has no letters or digits to search for", field="q")
    return text


def parse(q: str, vocabulary: Vocabulary) -> ParsedQuery:
    """Slots by longest known phrase first; stopwords dropped unless nothing else is left."""
    tokens = words(check_query(q))
    content = [t for t in tokens if t not in vocabulary.stopwords] or tokens
    parsed = ParsedQuery(original=q, slots=[])
    position = 0
    while position < len(content):
        for size in range(min(vocabulary.longest, len(content) - position), 0, -1):
            phrase = " ".join(content[position : position + size])
            others = vocabulary.equivalents.get(phrase)
            if others or size == 1:
                break
        alternatives = (tuple(phrase.split()), *(tuple(o.split()) for o in others or ()))
        if others:
            parsed.expansions[phrase] = list(others)
        parsed.slots.append(Slot(text=phrase, alternatives=alternatives))
        position += size
    return parsed


def corrected(parsed: ParsedQuery, known_words: frozenset[str], vocabulary: Vocabulary) -> bool:
    """Replace words the index has never seen by the closest word it has; True if any changed."""
    changed = False
    slots: list[Slot] = []
    for slot in parsed.slots:
        if len(slot.alternatives[0]) > 1 or slot.text in known_words or len(slot.text) < 4:
            slots.append(slot)
            continue
        match = process.extractOne(
            slot.text,
            [w for w in known_words if abs(len(w) - len(slot.text)) <= 2],
            scorer=fuzz.ratio,
            score_cutoff=80,
        )
        if match is None:
            slots.append(slot)
            continue
        word = match[0]
        parsed.corrections[slot.text] = word
        others = vocabulary.equivalents.get(word, ())
        slots.append(
            Slot(text=slot.text, alternatives=((word,), *(tuple(o.split()) for o in others)))
        )
        changed = True
    parsed.slots = slots
    return changed
