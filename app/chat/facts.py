"""Finding the observation that answers a counting question.

Every observation of the statistics is a small document: its dimensions (with the full names of
its group and place), the statistics set's title and the observation's note. A question's words
are matched against those documents (BM25), under hard conditions: the metric asked for, the
period asked for, and the group or place the question names. Among the observations that pass,
the one whose dimensions the question accounts for best wins: "TTP attacks in 2023" is the TTP
row, not the TTP-in-Khyber-Pakhtunkhwa row.
"""

import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.question import METRIC_WORDS, Question
from app.core.db import transaction_memo
from app.core.names import normalise_name
from app.incidents.aliases import AliasTables, load_alias_tables
from app.incidents.models import (
    DIMENSION_COLUMNS,
    MilitantGroup,
    Observation,
    Place,
    StatisticsTable,
)
from app.policies.models import Document
from app.search.query import Vocabulary, stem, words

GENERIC = {
    "how", "many", "much", "number", "did", "do", "does", "was", "were", "is", "are", "the", "in",
    "of", "by", "to", "a", "an", "and", "or", "what", "which", "there", "take", "took", "place",
    "carry", "carried", "out", "happen", "happened", "people", "pakistan", "year", "total", "terrorist",
    "terrorism", "terror", "related", "recorded", "any", "have", "has", "been", "since", "from",
    "with", "for", "on", "at", "over", "during", "than", "that", "this", "it", "their",
    "last", "previous", "past", "years", "ago", "so", "far", "till", "until", "up", "through",
    "describe", "tell", "about", "me", "most", "highest",
}  # fmt: skip
K1, B = 1.2, 0.75
UNEXPLAINED = 2.5  # per dimension of a row the question says nothing about
METRIC_WORD = re.compile("|".join(f"(?:{p})" for p, _ in METRIC_WORDS))
# Words that are also aliases but are almost never meant as one in a question.
BASE_METRIC_WORDS = {"killed", "injured", "attacks", "pct", "change", "share"}
NOT_ENTITIES = {"in", "is", "as", "at", "to", "pakistan", "it", "us", "me"}


@dataclass(frozen=True)
class Fact:
    observation: Observation
    words: Counter[str]
    length: int
    document: str
    statistics_title: str


@dataclass(frozen=True)
class Facts:
    facts: list[Fact]
    frequency: Counter[str]
    mean_length: float
    place_types: dict[str, str]
    aliases: AliasTables
    latest_year: int

    def idf(self, term: str) -> float:
        n, df = len(self.facts), self.frequency.get(term, 0)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))


_cache: dict[str, tuple[tuple[int, int], Facts]] = {}
FACTS = "chat_facts"  # in transaction_memo


async def load_facts(session: AsyncSession) -> Facts:
    """All observations as documents, cached until the statistics change (checked once per
    transaction)."""
    memo = transaction_memo(session)
    if FACTS in memo:
        return memo[FACTS]  # type: ignore[no-any-return]
    facts = await _load_facts(session)
    memo[FACTS] = facts
    return facts


async def _load_facts(session: AsyncSession) -> Facts:
    database = session.get_bind().url.render_as_string(hide_password=True)
    version = tuple(
        (await session.execute(select(func.count(Observation.id), func.max(Observation.id)))).one()
    )
    cached = _cache.get(database)
    if cached and cached[0] == version:
        return cached[1]
    aliases = await load_alias_tables(session)
    full_names = dict(
        (await session.execute(select(MilitantGroup.name, MilitantGroup.full_name))).all()
    )
    place_types = dict((await session.execute(select(Place.name, Place.type))).all())
    titles = dict((await session.execute(select(StatisticsTable.id, StatisticsTable.title))).all())
    docs = dict((await session.execute(select(Document.id, Document.title))).all())
    table_docs = dict(
        (await session.execute(select(StatisticsTable.id, StatisticsTable.doc_id))).all()
    )
    facts: list[Fact] = []
    frequency: Counter[str] = Counter()
    latest = 0
    for obs in await session.scalars(select(Observation).order_by(Observation.id)):
        parts = [titles.get(obs.statistics_id, ""), obs.note or "", obs.table_label or ""]
        for dimension, column in DIMENSION_COLUMNS.items():
            value = getattr(obs, column)
            if value:
                parts.append(value.replace("_", " "))
                if dimension == "group":
                    parts.append(full_names.get(value, ""))
        counted = Counter(stem(w) for w in words(" ".join(parts)))
        frequency.update(set(counted))
        facts.append(
            Fact(
                observation=obs,
                words=counted,
                length=sum(counted.values()),
                document=docs.get(table_docs.get(obs.statistics_id, ""), obs.statistics_id),
                statistics_title=titles.get(obs.statistics_id, obs.statistics_id),
            )
        )
        yearly = obs.period_start.month == 1 and obs.period_end == date(
            obs.period_start.year, 12, 31
        )
        if yearly and obs.is_total and "attacks" in obs.metrics:
            latest = max(latest, obs.period_start.year)
    mean = sum(f.length for f in facts) / max(len(facts), 1)
    loaded = Facts(facts, frequency, mean, place_types, aliases, latest)
    _cache[database] = (version, loaded)  # type: ignore[assignment]
    return loaded


def named_entities(question: Question, facts: Facts) -> dict[str, str]:
    """Groups and places the question names, by the data's own aliases (longest phrase first)."""
    tokens = words(question.english)
    found: dict[str, str] = {}
    used: set[int] = set()
    for size in range(5, 0, -1):
        for start in range(len(tokens) - size + 1):
            span = set(range(start, start + size))
            if span & used:
                continue
            phrase = " ".join(tokens[start : start + size])
            if normalise_name(phrase) in NOT_ENTITIES:
                continue
            group = facts.aliases.groups.get(normalise_name(phrase))
            place = facts.aliases.places.get(normalise_name(phrase))
            if group and "group" not in found and len(normalise_name(phrase)) > 1:
                found["group"] = group
                used |= span
                question.entity_words.append(phrase)
            elif place and len(normalise_name(phrase)) > 1 and "place" not in found:
                found["place"] = place
                used |= span
                question.entity_words.append(phrase)
    return found


def _fits_period(obs: Observation, question: Question, latest: int) -> bool:
    years = question.years or ([latest] if question.relative_year else [])
    if question.period is not None:
        period = question.period
        if period.exact_start:
            return abs((obs.period_start - period.start).days) <= 31 and (
                period.end.year == 2100 or abs((obs.period_end - period.end).days) <= 45
            )
        return obs.period_start >= period.start and obs.period_end <= period.end
    if not years:
        return True
    if len(years) >= 2 and not question.metrics_change:
        return obs.period_start.year == min(years) and obs.period_end.year == max(years)
    year = max(years) if question.metrics_change else years[0]
    return obs.period_start >= date(year, 1, 1) and obs.period_end <= date(year, 12, 31)


PLACE_COLUMNS = ("region", "district")


def _entity_matches(obs: Observation, entities: dict[str, str]) -> bool:
    """A group must be the observation's group; a place its region or its district."""
    for dimension, value in entities.items():
        columns = PLACE_COLUMNS if dimension == "place" else (DIMENSION_COLUMNS[dimension],)
        if not any((getattr(obs, c) or "").lower() == value.lower() for c in columns):
            return False
    return True


def score(fact: Fact, question_terms: list[str], facts: Facts) -> float:
    total = 0.0
    for term in question_terms:
        tf = fact.words.get(term, 0)
        if tf:
            norm = tf * (K1 + 1) / (tf + K1 * (1 - B + B * fact.length / facts.mean_length))
            total += facts.idf(term) * norm
    return total


def unexplained_dimensions(fact: Fact, question_stems: set[str], entities: dict[str, str]) -> int:
    """Dimensions of the observation the question says nothing about."""
    count = 0
    place = entities.get("place", "").lower()
    for dimension, column in DIMENSION_COLUMNS.items():
        value = getattr(fact.observation, column)
        if value is None or dimension in entities:
            continue
        if (
            dimension in PLACE_COLUMNS
            and place
            and place
            in (
                (fact.observation.district or "").lower(),
                (fact.observation.region or "").lower(),
            )
        ):
            continue  # the place asked for, or the province of the district asked for
        if not {stem(w) for w in words(value.replace("_", " "))} & question_stems:
            count += 1
    return count


@dataclass
class Match:
    fact: Fact
    metric: str
    value: float
    relevance: float
    coverage: float = 1.0  # share of the question's own words the observation holds


def _specific_metric(metrics: dict[str, float], stems: set[str], asked: list[str]) -> str | None:
    """A metric the question names more precisely than its base word: 'children' ->
    children_killed, 'security personnel' -> security_personnel_killed (never another base:
    'killed in suicide attacks' is not suicide_attacks)."""
    for metric in metrics:
        if metric.endswith("_pct") or "_" not in metric:
            continue
        base = next((p for p in metric.split("_") if p in BASE_METRIC_WORDS), None)
        if base is not None and asked and base not in asked:
            continue
        qualifiers = [p for p in metric.split("_") if p not in BASE_METRIC_WORDS]
        if qualifiers and all(stem(p) in stems for p in qualifiers):
            return metric
    return None


def question_terms(question: Question, vocabulary: Vocabulary | None) -> list[set[str]]:
    """The question's own subject words, each with its equivalents' stems ('forces' ->
    'personnel', 'agencies'); the words of the groups and places it names are left out, since
    those are conditions, not words to look for."""
    named = {w for name in question.entities.values() for w in words(name)}
    named |= {w for alias in question.entity_words for w in words(alias)}
    groups: list[set[str]] = []
    for word in words(question.english):
        if word in GENERIC or word in named or word.isdigit() or len(word) < 2:
            continue
        if METRIC_WORD.fullmatch(word):
            continue  # the metric is a condition already
        alternatives = {stem(word)}
        if vocabulary is not None:
            for other in vocabulary.equivalents.get(word, ()):
                if " " not in other:
                    alternatives.add(stem(other))
        groups.append(alternatives)
    return groups


def known_terms(groups: list[set[str]], facts: "Facts") -> list[set[str]]:
    """Only words some observation holds can tell observations apart ('conducted' cannot)."""
    return [g for g in groups if any(facts.frequency.get(t) for t in g)]


def best_facts(
    question: Question, facts: Facts, *, limit: int = 5, vocabulary: Vocabulary | None = None
) -> list[Match]:
    """Observations that answer the question, best first; empty when none fits its conditions."""
    entities = question.entities
    stems = {stem(w) for w in words(question.english)}
    groups = known_terms(question_terms(question, vocabulary), facts)
    explaining = set().union(*groups) if groups else set()
    explaining |= {stem(w) for w in words(question.english) if METRIC_WORD.fullmatch(w)}
    metrics = question.wanted_metrics
    matches: list[Match] = []
    for fact in facts.facts:
        obs = fact.observation
        metric = _specific_metric(obs.metrics, stems, question.metrics) or next(
            (m for m in metrics if m in obs.metrics), None
        )
        if metric is None:
            continue
        if not _fits_period(obs, question, facts.latest_year) or not _entity_matches(obs, entities):
            continue
        relevance = sum(max(score(fact, [t], facts) for t in g) for g in groups)
        relevance -= UNEXPLAINED * unexplained_dimensions(fact, explaining, entities)
        if obs.is_total and not entities:
            relevance += 0.5
        if question.period and abs((obs.period_start - question.period.start).days) <= 1:
            relevance += 1.0
        if metric not in metrics:
            relevance += 1.0
        else:
            relevance -= 0.3 * metrics.index(metric)  # the metric asked for before its fallbacks
        held = [g for g in groups if g & (set(fact.words) | stems_of(metric))]
        coverage = len(held) / len(groups) if groups else 1.0
        matches.append(Match(fact, metric, float(obs.metrics[metric]), relevance, coverage))
    matches.sort(key=lambda m: (-m.relevance, m.fact.observation.id))
    return matches[:limit]


def stems_of(metric: str) -> set[str]:
    return {stem(p) for p in metric.split("_")}


def previous_period(match: Match, facts: Facts) -> Match | None:
    """The same series one year earlier, for 'up from 79 in 2022'."""
    obs = match.fact.observation
    if obs.period_start.month != 1 or obs.period_end != date(obs.period_start.year, 12, 31):
        return None
    keys = {c: getattr(obs, c) for c in DIMENSION_COLUMNS.values()}
    earlier = [
        fact
        for fact in facts.facts
        if fact.observation.statistics_id == obs.statistics_id
        and fact.observation.period_start == date(obs.period_start.year - 1, 1, 1)
        and fact.observation.period_end == date(obs.period_start.year - 1, 12, 31)
        and match.metric in fact.observation.metrics
        and all(getattr(fact.observation, c) == v for c, v in keys.items())
    ]
    if len(earlier) != 1:
        return None  # none, or several rows that could be meant: say nothing rather than guess
    other = earlier[0]
    return Match(other, match.metric, float(other.observation.metrics[match.metric]), 0.0)
