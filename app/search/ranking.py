"""The ordering both engines share: BM25F over the three fields, plus a few plain boosts.

SQLite's bm25() and PostgreSQL's ts_rank_cd find and pre-order candidates, but their scores are
built differently and disagree on close calls. So the final order is computed here, from the
same statistics on both engines: BM25F (field weights names 10, tags 4, body 1, as the engines
use), an exact-name boost, a boost for names that hold every word, and a small type prior. The
engine's own score only breaks ties.
"""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from app.core.names import normalise_name
from app.search.query import ParsedQuery, Slot, stem, words

FIELDS = ("names", "tags", "body")
WEIGHTS = {"names": 10.0, "tags": 4.0, "body": 1.0}
K1, B = 1.2, 0.75
EXACT_NAME, NAME_COVERAGE, ENGINE_TIEBREAK = 2.0, 1.0, 0.05
TYPE_PRIOR = {"item": 0.1, "group": 0.05}


@dataclass(frozen=True)
class EntryTerms:
    names: Counter[str]
    tags: Counter[str]
    body: Counter[str]
    name_lines: frozenset[str]  # each name, normalised, for exact matches


@dataclass(frozen=True)
class Corpus:
    """Per-entry stemmed term counts, document frequencies and mean field lengths."""

    entries: dict[int, EntryTerms]
    document_frequency: Counter[str]
    mean_length: dict[str, float]

    @classmethod
    def build(cls, rows: Iterable[tuple[int, str, str, str]]) -> "Corpus":
        entries: dict[int, EntryTerms] = {}
        frequency: Counter[str] = Counter()
        totals = dict.fromkeys(FIELDS, 0)
        for entry_id, names, tags, body in rows:
            counts = {
                f: Counter(stem(w) for w in words(t))
                for f, t in zip(FIELDS, (names, tags, body), strict=True)
            }
            lines = frozenset(normalise_name(line) for line in names.split("\n") if line.strip())
            entries[entry_id] = EntryTerms(counts["names"], counts["tags"], counts["body"], lines)
            frequency.update(set().union(*counts.values()))
            for f in FIELDS:
                totals[f] += sum(counts[f].values())
        size = max(len(entries), 1)
        return cls(entries, frequency, {f: max(totals[f] / size, 1.0) for f in FIELDS})

    def idf(self, term: str) -> float:
        n, df = len(self.entries), self.document_frequency.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def _term_score(self, terms: EntryTerms, term: str) -> float:
        weighted = 0.0
        for f in FIELDS:
            counts: Counter[str] = getattr(terms, f)
            if term in counts:
                length = sum(counts.values())
                weighted += WEIGHTS[f] * counts[term] / (1 - B + B * length / self.mean_length[f])
        return self.idf(term) * weighted / (K1 + weighted) if weighted else 0.0

    def bm25f(self, entry_id: int, slots: Sequence[Slot]) -> float:
        """Each slot counts once, by its best-scoring form (madrassa or seminary, not both)."""
        terms = self.entries.get(entry_id)
        if terms is None:
            return 0.0
        return sum(
            max(sum(self._term_score(terms, stem(w)) for w in alt) for alt in slot.alternatives)
            for slot in slots
        )

    def names_hold_every_slot(self, entry_id: int, slots: Sequence[Slot]) -> float:
        terms = self.entries.get(entry_id)
        if terms is None or not slots:
            return 0.0
        held = sum(
            any(all(stem(w) in terms.names for w in alt) for alt in slot.alternatives)
            for slot in slots
        )
        return held / len(slots)

    def exact_name(self, entry_id: int, parsed: ParsedQuery) -> bool:
        terms = self.entries.get(entry_id)
        if terms is None:
            return False
        wanted = {
            normalise_name(parsed.original),
            normalise_name(" ".join(s.text for s in parsed.slots)),
        }
        if len(parsed.slots) == 1:
            wanted |= {normalise_name(" ".join(alt)) for alt in parsed.slots[0].alternatives}
        return bool(wanted & terms.name_lines)


def final_scores(
    corpus: Corpus,
    parsed: ParsedQuery,
    candidates: Sequence[tuple[int, str, float]],
) -> dict[int, float]:
    """(entry id, type, engine score) -> the score results are ordered by."""
    relevance = {i: corpus.bm25f(i, parsed.slots) for i, _, _ in candidates}
    best = max(relevance.values(), default=0.0) or 1.0
    engine_best = max((s for _, _, s in candidates), default=0.0) or 1.0
    return {
        i: round(
            relevance[i] / best
            + (EXACT_NAME if corpus.exact_name(i, parsed) else 0.0)
            + NAME_COVERAGE * corpus.names_hold_every_slot(i, parsed.slots)
            + TYPE_PRIOR.get(kind, 0.0)
            + ENGINE_TIEBREAK * engine / engine_best,
            4,
        )
        for i, kind, engine in candidates
    }
