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
    name_lines: frozenset[str]  # each name, normalised, for exact matches
    # Each term's field-weighted, length-normalised frequency: the query-independent half of
    # BM25F, worked out once when the index is loaded rather than per candidate and query.
    weighted: dict[str, float]


@dataclass(frozen=True)
class Corpus:
    """Per-entry weighted term frequencies, document frequencies and mean field lengths."""

    entries: dict[int, EntryTerms]
    document_frequency: Counter[str]
    mean_length: dict[str, float]
    idfs: dict[str, float]  # of every indexed term

    @classmethod
    def build(cls, rows: Iterable[tuple[int, str, str, str]]) -> "Corpus":
        counted: list[tuple[int, dict[str, Counter[str]], frozenset[str]]] = []
        frequency: Counter[str] = Counter()
        totals = dict.fromkeys(FIELDS, 0)
        for entry_id, names, tags, body in rows:
            counts = {
                f: Counter(stem(w) for w in words(t))
                for f, t in zip(FIELDS, (names, tags, body), strict=True)
            }
            lines = frozenset(normalise_name(line) for line in names.split("\n") if line.strip())
            counted.append((entry_id, counts, lines))
            frequency.update(set().union(*counts.values()))
            for f in FIELDS:
                totals[f] += counts[f].total()
        size = max(len(counted), 1)
        mean_length = {f: max(totals[f] / size, 1.0) for f in FIELDS}
        entries: dict[int, EntryTerms] = {}
        for entry_id, counts, lines in counted:
            weighted: dict[str, float] = {}
            for f in FIELDS:
                norm = WEIGHTS[f] / (1 - B + B * counts[f].total() / mean_length[f])
                for term, count in counts[f].items():
                    weighted[term] = weighted.get(term, 0.0) + count * norm
            entries[entry_id] = EntryTerms(counts["names"], lines, weighted)
        n = len(entries)
        idfs = {t: math.log(1 + (n - df + 0.5) / (df + 0.5)) for t, df in frequency.items()}
        return cls(entries, frequency, mean_length, idfs)

    def idf(self, term: str) -> float:
        known = self.idfs.get(term)
        if known is not None:
            return known
        n, df = len(self.entries), self.document_frequency.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def bm25f(self, entry_id: int, slots: Sequence[Slot]) -> float:
        """Each slot counts once, by its best-scoring form (madrassa or seminary, not both)."""
        terms = self.entries.get(entry_id)
        if terms is None:
            return 0.0
        total = 0.0
        for slot in slots:
            best = 0.0
            for alt in slot.stemmed:
                score = 0.0
                for term in alt:
                    weighted = terms.weighted.get(term)
                    if weighted:
                        score += self.idf(term) * weighted / (K1 + weighted)
                best = max(best, score)
            total += best
        return total

    def names_hold_every_slot(self, entry_id: int, slots: Sequence[Slot]) -> float:
        terms = self.entries.get(entry_id)
        if terms is None or not slots:
            return 0.0
        held = sum(
            any(all(term in terms.names for term in alt) for alt in slot.stemmed) for slot in slots
        )
        return held / len(slots)

    def exact_name(self, entry_id: int, wanted: frozenset[str]) -> bool:
        terms = self.entries.get(entry_id)
        return terms is not None and not wanted.isdisjoint(terms.name_lines)


def exact_names(parsed: ParsedQuery) -> frozenset[str]:
    """What a record's name must be, normalised, to be the exact match of the query."""
    wanted = {
        normalise_name(parsed.original),
        normalise_name(" ".join(s.text for s in parsed.slots)),
    }
    if len(parsed.slots) == 1:
        wanted |= {normalise_name(" ".join(alt)) for alt in parsed.slots[0].alternatives}
    return frozenset(wanted)


def final_scores(
    corpus: Corpus,
    parsed: ParsedQuery,
    candidates: Sequence[tuple[int, str, float]],
) -> dict[int, float]:
    """(entry id, type, engine score) -> the score results are ordered by."""
    relevance = {i: corpus.bm25f(i, parsed.slots) for i, _, _ in candidates}
    best = max(relevance.values(), default=0.0) or 1.0
    engine_best = max((s for _, _, s in candidates), default=0.0) or 1.0
    wanted = exact_names(parsed)
    return {
        i: round(
            relevance[i] / best
            + (EXACT_NAME if corpus.exact_name(i, wanted) else 0.0)
            + NAME_COVERAGE * corpus.names_hold_every_slot(i, parsed.slots)
            + TYPE_PRIOR.get(kind, 0.0)
            + ENGINE_TIEBREAK * engine / engine_best,
            4,
        )
        for i, kind, engine in candidates
    }
