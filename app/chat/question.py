"""Reading a question: its language, its kind, what it counts, where, who and when.

A message is first rewritten into plain English words with the lexicon in
policy_data/search/chat_lexicon.yaml (Roman Urdu, Urdu script, text-speak; Eastern Arabic
digits become ASCII), then read for its kind (count, when, who, status, ...), metrics, years and
periods. Names of groups and places are found later, against the data's own alias tables.
"""

import calendar
import re
from dataclasses import dataclass, field, replace
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml

from app.core.config import get_settings

URDU_SCRIPT = re.compile(r"[\u0600-\u06FF]")
DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")
YEAR = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
MONTHS = {
    m: i + 1
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ]
    )
}
MONTH_WORD = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
MONTH_YEAR = re.compile(MONTH_WORD + r"\.?,?\s+(\d{4})")

# The words that name what is counted, to the metric in the data.
METRIC_WORDS: list[tuple[str, str]] = [
    (r"suicide (?:attacks?|bombings?)", "suicide_attacks"),
    (r"(?:military |kinetic |security |search )?operations?", "operations"),
    (r"arrests?|arrested|apprehended|detained", "arrests"),
    (r"clash(?:es)?|encounters?|exchanges? of fire", "clashes"),
    (r"foiled|thwarted", "foiled_plots"),
    (r"(?:killed|kill|kills|deaths?|died|dead|fatalities|lives|killings?|martyred)", "killed"),
    (r"(?:injured|wounded|injuries|hurt)", "injured"),
    (r"(?:attacks?|incidents?|bombings?|blasts?|strikes)", "attacks"),
]
KINDS: list[tuple[str, str]] = [
    (
        r"\bhow much of (?:the )?(?:nap|national action plan)\b|\bprogress (?:summary|report)\b",
        "summary",
    ),
    (
        r"\bwhich (?:district|region|province|city|group|area|target)s?\b.*\b(?:most|highest|largest|worst|least|lowest|fewest)\b",
        "most",
    ),
    (
        r"\b(?:most|highest|largest|worst)\b.*\bwhich (?:district|region|province|city|group)\b",
        "most",
    ),
    (
        r"\b(?:which|what|list|name)\b.*\b(?:recommendations|clauses|points|laws|institutions|items|measures)\b.*\b(?:stalled|implemented|not started|in progress|abandoned|lapsed|proposed|unknown)\b|\blist (?:the )?(?:recommendations|items|clauses)\b",
        "list",
    ),
    (
        r"\bhow many\b|\bhow much\b|\bnumber of\b|\bcount of\b|\btotal (?:number )?of\b|\bby how much\b|\bwhat (?:share|percentage|proportion)\b",
        "count",
    ),
    (
        r"\bwhat(?:'s| is| was)? the (?:status|state)\b|\bstatus of\b|\bimplemented\b|\bwhat (?:happened|became) (?:to|of)\b|\bprogress (?:on|of)\b|\bwhere does\b.*\bstand\b",
        "status",
    ),
    (
        r"\bwhen\b|\bwhat (?:date|year|month)\b|\bwhich (?:date|year|month)\b|\bin what year\b|\bon what date\b|\bsince when\b",
        "when",
    ),
    (
        r"^\s*who\b|\bwhich (?:government|body|bodies|agency|agencies|institution|institutions|organi[sz]ation|ministry|court|party|leader|official)\b|\bwho (?:is|are|was|were) responsible\b",
        "who",
    ),
    (
        r"\brecommend|\bsuggest|\bpropos|\badvi[cs]e\b|\bcall(?:s|ed)? for\b|\b(?:pips|report) (?:wants?|urges?|asks?)\b|\bshould\b",
        "recommend",
    ),
]
FOLLOW_UP = re.compile(
    r"^\s*(?:and|what about|how about|and what about|aur|or|also|then|same for|in)\b", re.I
)
PRONOUN = re.compile(r"\b(?:it|that|this|them|they|its|their|those|these)\b", re.I)


@dataclass(frozen=True)
class Lexicon:
    latin: tuple[tuple[re.Pattern[str], str], ...]
    urdu: tuple[tuple[str, str], ...]


@lru_cache
def lexicon(path: Path | None = None) -> Lexicon:
    source = path or get_settings().policy_data_dir / "search" / "chat_lexicon.yaml"
    raw = (yaml.safe_load(source.read_text(encoding="utf-8")) or {}) if source.exists() else {}
    entries = sorted(
        ((str(k), str(v or "")) for k, v in (raw.get("translations") or {}).items()),
        key=lambda kv: -len(kv[0]),
    )
    latin = tuple(
        (re.compile(r"(?<![\w-])" + re.escape(k) + r"(?![\w-])", re.I), v)
        for k, v in entries
        if not URDU_SCRIPT.search(k)
    )
    urdu = tuple((k, v) for k, v in entries if URDU_SCRIPT.search(k))
    return Lexicon(latin, urdu)


def to_english(message: str) -> tuple[str, str]:
    """(English rewrite, language of the message: en or ur)."""
    text = message.translate(DIGITS)
    language = "ur" if URDU_SCRIPT.search(text) else "en"
    words = lexicon()
    for phrase, english in words.urdu:
        if phrase in text:
            text = text.replace(phrase, f" {english} ")
    for pattern, english in words.latin:
        text = pattern.sub(f" {english} " if english else " ", text)
    text = re.sub(r"[؟?]", " ? ", text)
    text = re.sub(r"[،,]", ", ", text)
    return re.sub(r"\s+", " ", text).strip(), language


@dataclass(frozen=True)
class Period:
    start: date
    end: date
    exact_start: bool = False  # "since August 2021": the period must start there


@dataclass
class Question:
    original: str
    english: str
    language: str
    kind: str
    metrics: list[str]
    years: list[int]
    period: Period | None
    relative_year: bool = False  # "last year", to be read against the latest data
    follow_up: bool = False
    entities: dict[str, str] = field(default_factory=dict)
    entity_words: list[str] = field(default_factory=list)  # the spellings the question used
    metrics_change: bool = False  # "by how much did deaths rise": the change, not the count
    share: bool = False  # "what share of attacks"

    @property
    def wanted_metrics(self) -> list[str]:
        """The metrics to look for, in order: changes or shares when those are asked."""
        base = self.metrics or ["attacks"]
        if self.metrics_change:
            return [f"{m}_change_pct" for m in base] + base
        if self.share:
            return [f"{m}_share_pct" for m in base]
        return base

    def with_context(self, previous: "Question") -> "Question":
        """A follow-up keeps what the previous question asked and replaces what it names."""
        return replace(
            self,
            kind=self.kind if self.kind != "what" else previous.kind,
            metrics=self.metrics or previous.metrics,
            metrics_change=self.metrics_change or (not self.metrics and previous.metrics_change),
            years=self.years or previous.years,
            period=self.period or (previous.period if not self.years else None),
            entities={**previous.entities, **self.entities},
            entity_words=[*previous.entity_words, *self.entity_words],
        )


def _kind(text: str) -> str:
    lowered = text.lower()
    for pattern, kind in KINDS:
        if re.search(pattern, lowered):
            return kind
    return "what"


def _metrics(text: str) -> list[str]:
    found: list[str] = []
    lowered = text.lower()
    for pattern, metric in METRIC_WORDS:
        if re.search(r"\b(?:" + pattern + r")\b", lowered) and metric not in found:
            found.append(metric)
            lowered = re.sub(r"\b(?:" + pattern + r")\b", " ", lowered)
    if "suicide_attacks" in found and "attacks" in found:
        found.remove("attacks")
    return found


def _period(text: str, years: list[int]) -> Period | None:
    lowered = text.lower()
    months = [
        (int(y), MONTHS[next(m for m in MONTHS if m.startswith(mon[:3]))])
        for mon, y in MONTH_YEAR.findall(lowered)
    ]
    since = re.search(r"\b(?:since|after|from)\s+(?:" + MONTH_WORD + r"\.?,?\s+)?(\d{4})", lowered)
    until = re.search(
        r"\b(?:to|till|until|through|-)\s+(?:" + MONTH_WORD + r"\.?,?\s+)?(\d{4})", lowered
    )
    if since:
        year = int(since.group(2))
        month = (
            MONTHS[next(m for m in MONTHS if m.startswith(since.group(1)[:3]))]
            if since.group(1)
            else 1
        )
        start = date(year, month, 1)
        end = date(2100, 12, 31)
        if until:
            end_year = int(until.group(2))
            end_month = (
                MONTHS[next(m for m in MONTHS if m.startswith(until.group(1)[:3]))]
                if until.group(1)
                else 12
            )
            end = date(end_year, end_month, calendar.monthrange(end_year, end_month)[1])
        return Period(start, end, exact_start=bool(since.group(1)) or bool(until))
    if len(months) == 1 and len(years) == 1:
        year, month = months[0]
        return Period(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))
    return None


def read(message: str) -> Question:
    english, language = to_english(message)
    years = [int(y) for y in YEAR.findall(english)]
    lowered = english.lower()
    relative = bool(re.search(r"\b(?:last|previous|past) year\b|\bthis year\b", lowered))
    words = re.findall(r"[a-z0-9]+", lowered)
    follow_up = bool(FOLLOW_UP.search(english)) or (
        len(words) <= 6 and bool(PRONOUN.search(english))
    )
    metrics = _metrics(english)
    if {"killed", "injured"} & set(metrics) and not re.search(r"\battacks? and\b", lowered):
        # "killed in suicide attacks": the attacks say where, the deaths are what is counted.
        metrics = [m for m in metrics if m not in ("attacks", "suicide_attacks")]
    return Question(
        original=message,
        english=english,
        language=language,
        kind=_kind(english),
        metrics=metrics,
        metrics_change=bool(
            re.search(
                r"\b(?:by how much|how much did|percent(?:age)? (?:rise|increase|fall|drop|change)|rise|rose|increase[ds]?|fell|fall|drop(?:ped)?|decline[ds]?)\b",
                lowered,
            )
            and re.search(r"\bhow much\b|\bby what\b|\bpercent|\b%", lowered)
        ),
        share=bool(re.search(r"\b(?:share|percentage|proportion|what percent)\b", lowered)),
        years=years,
        period=_period(english, years),
        relative_year=relative,
        follow_up=follow_up,
    )
