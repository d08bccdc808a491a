"""Composing an answer: pick the way to look the fact up by the kind of question, then say it.

Counts and "which had the most" come from the statistics (app.chat.facts); status, history,
"who" and "when" from the items and their records (app.chat.passages, the items' own fields);
progress from the summary service. Every answer names its sources; when nothing fits, the
answer says so, states no number, and says what can be asked.
"""

import re
from dataclasses import asdict
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat.engine import Answer
from app.chat.facts import Facts, Match, best_facts, load_facts, named_entities, previous_period
from app.chat.passages import MONTH_NAMES, QUESTION_WORDS, Passage, best_passages
from app.chat.question import Period, Question, read
from app.chat.schemas import ChatCitation
from app.core.errors import InvalidInput
from app.incidents.models import DIMENSION_COLUMNS
from app.policies.models import ItemInstitution, PolicyItem, TimelineEvent
from app.policies.service import ItemFilters, get_item, list_items
from app.reports import service as reports
from app.search import service as search
from app.search.query import Vocabulary, stem, words

UNANSWERED = (
    "I don't have that in the tracker's data. I can answer questions about terrorist attacks, "
    "deaths and injuries by year, region, district, group or target; about the status, history "
    "and timeline of Pakistan's counter-terrorism plans, laws and institutions; and about what "
    "the PIPS report recommends."
)
MIN_COVERAGE = 0.5
FACT_COVERAGE = 0.34
WEAKEST_FACT = -3.0
RIVAL_MARGIN = 1.5
STATUS_WORDS = {
    "not_started": "not started",
    "in_progress": "in progress",
    "partially_implemented": "partially implemented",
}
METRIC_NOUNS = {
    "attacks": ("attack", "attacks"),
    "killed": ("person killed", "people killed"),
    "injured": ("person injured", "people injured"),
    "operations": ("operation", "operations"),
    "arrests": ("arrest", "arrests"),
    "clashes": ("clash", "clashes"),
    "suicide_attacks": ("suicide attack", "suicide attacks"),
    "foiled_plots": ("foiled plot", "foiled plots"),
    "incidents": ("incident", "incidents"),
}


def subject_words(text: str) -> str:
    """A question without its question words: what to search for."""
    kept = [w for w in words(text) if w not in QUESTION_WORDS and w not in ("many", "much")]
    return " ".join(kept) or text


def written(day: date, precision: str = "day") -> str:
    if precision == "year":
        return str(day.year)
    if precision == "month":
        return f"{MONTH_NAMES[day.month - 1]} {day.year}"
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.1f}"


def _period_words(start: date, end: date) -> str:
    if start.month == 1 and start.day == 1 and end == date(start.year, 12, 31):
        return f"in {start.year}"
    if start.day == 1 and (start.year, start.month) == (end.year, end.month):
        return f"in {MONTH_NAMES[start.month - 1]} {start.year}"
    return f"from {written(start)} to {written(end)}"


def _stat_citation(match: Match) -> ChatCitation:
    obs = match.fact.observation
    where = obs.table_label or (f"section {obs.section}" if obs.section else obs.statistics_id)
    url_source = next((s.get("url") for s in obs.sources if s.get("url")), None)
    source = f"{match.fact.document}, {where}" + (f" ({url_source})" if url_source else "")
    return ChatCitation(
        type="stat",
        id=str(obs.id),
        title=match.fact.statistics_title,
        source=source,
        url=f"/api/v1/stats?statistics={obs.statistics_id}",
    )


def _scope(match: Match) -> str:
    obs = match.fact.observation
    parts = []
    if obs.group_name:
        parts.append(f"by {obs.group_name}")
    places = dict.fromkeys(p for p in (obs.district, obs.region) if p)
    if places:
        parts.append("in " + ", ".join(places))
    for column, lead in (
        ("target", "on"),
        ("victim", "among"),
        ("force", "among"),
        ("tactic", "by"),
    ):
        value = getattr(obs, column)
        if value:
            parts.append(f"{lead} {value.replace('_', ' ')}")
    for column in ("incident_type", "election", "operation_type", "group_type", "party"):
        value = getattr(obs, column)
        if value:
            parts.append(f"({column.replace('_', ' ')}: {value.replace('_', ' ')})")
    return " ".join(parts)


def _fact_sentence(match: Match, previous: Match | None) -> str:
    obs = match.fact.observation
    period = _period_words(obs.period_start, obs.period_end)
    metric = match.metric
    if metric.endswith("_change_pct"):
        base = metric.removesuffix("_change_pct")
        noun = METRIC_NOUNS.get(base, (base, base))[1].replace("people ", "")
        direction = "rose" if match.value >= 0 else "fell"
        text = f"{noun.capitalize()} {direction} by {_number(abs(match.value))}% {period} compared with the period before"
    elif metric.endswith("_share_pct") or metric == "share_pct":
        text = f"The share was {_number(match.value)}% {period}"
    else:
        singular, plural = METRIC_NOUNS.get(metric, (metric.replace("_", " "),) * 2)
        noun = singular if match.value == 1 else plural
        text = f"{_number(match.value)} {noun}"
        scope = _scope(match)
        text += f" {scope}" if scope else ""
        text += f" {period}"
        if previous is not None:
            change = (
                "up from"
                if match.value > previous.value
                else ("down from" if match.value < previous.value else "the same as")
            )
            text += f", {change} {_number(previous.value)} the year before"
    note = (obs.note or "").strip()
    if (
        note
        and len(note) < 220
        and not note.lower().startswith(("nationwide total", "pips nationwide"))
    ):
        text += f". {note.rstrip('.')}"
    return text + f" (source: {_stat_citation(match).source})."


def _unanswered(question: Question, context: dict[str, Any]) -> Answer:
    return Answer(
        text=UNANSWERED,
        found=False,
        citations=[],
        language=question.language,
        context=context,
    )


def _passage_citation(passage: Passage) -> ChatCitation:
    kind = {"statistics": "stat"}.get(passage.type, passage.type)
    return ChatCitation(
        type=kind,  # type: ignore[arg-type]
        id=passage.key,
        title=passage.title,
        source="Nigran tracker record (from the PIPS 2024 report and the public reference facts)",
        url=passage.url,
    )


def _question_context(question: Question, **extra: Any) -> dict[str, Any]:
    stored = asdict(question)
    if question.period is not None:
        stored["period"] = {
            "start": question.period.start.isoformat(),
            "end": question.period.end.isoformat(),
            "exact_start": question.period.exact_start,
        }
    return {"question": stored, **extra}


def _previous_question(context: dict[str, Any]) -> Question | None:
    raw = context.get("question")
    if not raw:
        return None
    period = raw.get("period")
    return Question(
        **{
            **raw,
            "period": Period(
                date.fromisoformat(period["start"]),
                date.fromisoformat(period["end"]),
                period["exact_start"],
            )
            if period
            else None,
        }
    )


def _other_source(best: Match, matches: list[Match]) -> Match | None:
    """A row of another statistics set that fits the question as well but gives another value."""
    obs = best.fact.observation
    signature = {c: getattr(obs, c) for c in DIMENSION_COLUMNS.values()}
    for other in matches[1:]:
        o = other.fact.observation
        if (
            o.statistics_id != obs.statistics_id
            and other.metric == best.metric
            and other.value != best.value
            and (o.period_start, o.period_end) == (obs.period_start, obs.period_end)
            and {c: getattr(o, c) for c in DIMENSION_COLUMNS.values()} == signature
            and best.relevance - other.relevance <= RIVAL_MARGIN
        ):
            return other
    return None


async def _facts_answer(
    session: AsyncSession, question: Question, facts: Facts, context: dict[str, Any]
) -> Answer | None:
    vocabulary = (await search.index_state(session)).vocabulary
    if question.kind == "most":
        return _most_answer(question, facts, context, vocabulary)
    matches = best_facts(question, facts, vocabulary=vocabulary)
    if not matches:
        return None
    best = matches[0]
    if best.relevance < WEAKEST_FACT:
        return None
    if best.coverage < FACT_COVERAGE and not question.entities:
        # Without a group or place to pin it down, the row must hold the question's own words.
        return None
    wanted = [m for m in question.wanted_metrics if not m.endswith("_pct")]
    if best.metric == "attacks":
        wanted += ["killed", "injured"]
    sentences = [_fact_sentence(best, previous_period(best, facts))]
    citations = [_stat_citation(best)]
    # "killed and injured": the other metric of the same observation, said in the same breath.
    for metric in wanted[1:]:
        if metric != best.metric and metric in best.fact.observation.metrics:
            value = float(best.fact.observation.metrics[metric])
            singular, plural = METRIC_NOUNS.get(metric, (metric, metric))
            sentences[0] = sentences[0].replace(
                " (source:", f"; {_number(value)} {singular if value == 1 else plural} (source:", 1
            )
    rival = _other_source(best, matches)
    if rival is not None:
        # Two sources count the same thing differently (Sindh with or without Karachi): say both.
        obs = rival.fact.observation
        note = f" ({obs.note.rstrip('.')})" if obs.note and len(obs.note) < 160 else ""
        sentences.append(
            f"Another source gives {_number(rival.value)}{note} (source: {_stat_citation(rival).source})."
        )
        citations.append(_stat_citation(rival))
    if STORY.search(question.english):
        # "What happened?": the note of a matching observation that tells the story.
        told = best.fact.observation.note or ""
        for other in matches[1:]:
            note = (other.fact.observation.note or "").strip()
            if note and note != told and len(note) < 300 and not BOILERPLATE.match(note):
                sentences.append(note if note.endswith(".") else note + ".")
                citations.append(_stat_citation(other))
                break
    obs = best.fact.observation
    return Answer(
        text=" ".join(sentences),
        found=True,
        citations=citations,
        as_of=obs.period_end,
        language=question.language,
        context=_question_context(question, observation=obs.id),
    )


def _most_answer(
    question: Question, facts: Facts, context: dict[str, Any], vocabulary: Vocabulary
) -> Answer | None:
    lowered = question.english.lower()
    split = next(
        (d for d in ("district", "region", "group", "target") if f"which {d}" in lowered), None
    )
    if split is None:
        split = "region" if re.search(r"\bwhich (?:province|city|area)", lowered) else "district"
    column = DIMENSION_COLUMNS[split]
    candidates = [
        m
        for m in best_facts(question, facts, limit=400, vocabulary=vocabulary)
        if getattr(m.fact.observation, column)
    ]
    if not candidates:
        return None
    # Rows are compared within one breakdown (one table, one metric, one period): the fullest
    # that fits, so "which region" reads Table 4's regions, not a note's two of them.
    breakdowns: dict[tuple[str, str, date, date], list[Match]] = {}
    for m in candidates:
        obs = m.fact.observation
        others = [
            d
            for d, c in DIMENSION_COLUMNS.items()
            if getattr(obs, c)
            and d != split
            and not (split == "district" and d == "region")
            and d not in question.entities
            and not (d in ("region", "district") and "place" in question.entities)
        ]
        if not others:
            key = (obs.statistics_id, m.metric, obs.period_start, obs.period_end)
            breakdowns.setdefault(key, []).append(m)
    if not breakdowns:
        return None
    same = max(breakdowns.values(), key=lambda rows: (len(rows), max(r.relevance for r in rows)))
    lowest = bool(re.search(r"\b(?:least|lowest|fewest)\b", question.english.lower()))
    top = (min if lowest else max)(same, key=lambda m: m.value)
    obs = top.fact.observation
    noun = METRIC_NOUNS.get(top.metric, (top.metric, top.metric))[1]
    text = (
        f"{getattr(obs, column)} had the {'fewest' if lowest else 'most'} {noun}: "
        f"{_number(top.value)} {_period_words(obs.period_start, obs.period_end)} "
        f"(source: {_stat_citation(top).source})."
    )
    return Answer(
        text=text,
        found=True,
        citations=[_stat_citation(top)],
        as_of=obs.period_end,
        language=question.language,
        context=_question_context(question, observation=obs.id),
    )


def _about_item(item: PolicyItem, text: str, question: Question, source: str) -> Answer:
    """An answer about one item, citing it; the next turn may say "it" for the item."""
    return Answer(
        text=text,
        found=True,
        citations=[
            ChatCitation(
                type="item",
                id=item.slug,
                title=item.title,
                source=source,
                url=f"/api/v1/items/{item.slug}",
            )
        ],
        as_of=item.status_date,
        language=question.language,
        context=_question_context(question, item=item.slug),
    )


async def _find_item(
    session: AsyncSession,
    question: Question,
    context: dict[str, Any],
    *,
    threshold: float = 1.0,
    drop: re.Pattern[str] | None = None,
) -> PolicyItem | None:
    """The item a question is about; `drop` takes out words that say what happened to it
    ("established", "amended"), which would otherwise find other items that use them."""
    text = subject_words(drop.sub(" ", question.english) if drop else question.english)
    try:
        results = (
            await search.search(session, text, types=("item",), limit=1, count=False)
        ).results
    except InvalidInput:
        results = []
    if results and results[0].score >= threshold:
        return await get_item(session, results[0].id)
    if context.get("item"):
        return await get_item(session, context["item"])
    return None


async def _status_answer(
    session: AsyncSession, question: Question, context: dict[str, Any]
) -> Answer | None:
    item = await _find_item(session, question, context)
    if item is None:
        return None
    status = STATUS_WORDS.get(item.status, item.status.replace("_", " "))
    when = f" as of {written(item.status_date)}" if item.status_date else ""
    passages = await best_passages(session, question, item_slug=item.slug, limit=1)
    detail = f" {passages[0].text}" if passages and passages[0].key in (item.slug,) else ""
    text = f"{item.title}: {status}{when}.{detail}"
    return _about_item(
        item,
        text[:1200],
        question,
        "Nigran tracker: the approved status history (baseline from the PIPS 2024 report)",
    )


ENDING = re.compile(
    r"\b(?:end|ended|ends|lapse|lapsed|expire|expired|stop|stopped|abolish|repeal|close|closed"
    r"|finish|exit|exited|leave|left|removed|came off|taken off)",
    re.I,
)
STARTING = re.compile(
    r"\b(?:start|started|begin|began|launch|launched|set up|establish|established|create|created|introduce|introduced|enact|enacted|pass|passed|form|formed|found|founded|announce|announced|happen|take place|took place)\b",
    re.I,
)


VERBS = re.compile(
    "|".join(p.pattern for p in (STARTING, ENDING))
    + r"|\b(?:amend\w*|approv\w*|announc\w*|adopt\w*|promulgat\w*|extend\w*)\b",
    re.I,
)
# The verb of a "when" question, to the timeline event types it asks about.
EVENT_VERBS: list[tuple[str, tuple[str, ...]]] = [
    (r"amend(?:ed|ment)?", ("amended",)),
    (r"approv(?:e|ed|al)|endorse(?:d)?", ("approved",)),
    (r"announc(?:e|ed|ement)", ("announced",)),
    (r"enact(?:ed)?|pass(?:ed)?|adopt(?:ed)?", ("enacted", "approved")),
    (r"promulgat(?:e|ed)", ("promulgated",)),
    (r"extend(?:ed)?|extension", ("extended",)),
    (r"rul(?:e|ed|ing)|verdict|judgment", ("ruling",)),
    (r"ceasefire|truce", ("ceasefire",)),
    (r"talks?|negotiat(?:e|ed|ions)|meet|met|meeting", ("talks", "meeting")),
    (r"ban(?:ned)?|proscrib(?:e|ed)|design(?:ate|ated)", ("designation",)),
    (r"review(?:ed)?", ("review",)),
]


async def _event_of_type(
    session: AsyncSession, item: PolicyItem, question: Question
) -> Answer | None:
    """'When was the ATA amended?': the item's event of that type; the one the question's other
    words fit best, the earliest of equals."""
    lowered = question.english.lower()
    types = next(
        (kinds for pattern, kinds in EVENT_VERBS if re.search(rf"\b(?:{pattern})\b", lowered)),
        None,
    )
    if types is None:
        return None
    events = list(
        await session.scalars(
            select(TimelineEvent)
            .where(
                TimelineEvent.item_id == item.id,
                TimelineEvent.type.in_(types),
                TimelineEvent.review_state == "approved",
            )
            .order_by(TimelineEvent.event_date, TimelineEvent.id)
        )
    )
    if not events:
        return None
    asked = {stem(w) for w in words(subject_words(question.english))}
    best = max(
        events,
        key=lambda e: (len(asked & {stem(w) for w in words(e.description)}), -events.index(e)),
    )
    on = "on" if best.date_precision == "day" else "in"
    when = written(best.event_date, best.date_precision)
    text = f"{item.short_title or item.title}: {best.type.replace('_', ' ')} {on} {when}. {best.description}"
    return Answer(
        text=text[:900],
        found=True,
        citations=[
            ChatCitation(
                type="event",
                id=str(best.id),
                title=f"{item.short_title or item.title}: {best.type}, {when}",
                source="Nigran tracker timeline (from the PIPS 2024 report and the public reference facts)",
                url=f"/api/v1/items/{item.slug}/timeline",
            )
        ],
        language=question.language,
        context=_question_context(question, item=item.slug),
    )


async def _when_answer(
    session: AsyncSession, question: Question, context: dict[str, Any]
) -> Answer | None:
    """'When was X set up / when did it end?': the item's own dates, or its matching event."""
    item = None
    if question.follow_up and context.get("item"):
        item = await get_item(session, context["item"])
    elif "group" in question.entities:
        return None  # "when was the TTP formed": the group's own record answers, not an item
    else:
        item = await _find_item(session, question, {}, threshold=1.5, drop=VERBS)
    if item is None:
        return None
    subject = set(words(subject_words(question.english))) - set(
        words(STARTING.pattern + ENDING.pattern)
    )
    named = set(words(f"{item.title} {item.short_title or ''} {' '.join(item.aliases)}"))
    if not question.follow_up and subject and len(subject & named) < len(subject) / 2:
        return None  # the question is about something else than the item found
    typed = (
        None if ENDING.search(question.english) else await _event_of_type(session, item, question)
    )
    if typed is not None:
        return typed
    ending = bool(ENDING.search(question.english))
    starting = bool(STARTING.search(question.english)) or not ending
    title_words = set(words(item.title + " " + (item.short_title or "")))
    verbs = [w for w in words(question.english) if w not in title_words]
    passages = await best_passages(session, question, item_slug=item.slug, limit=4)
    own = [p for p in passages if p.key == item.slug or p.type == "event"]
    when, precision = (
        (item.end_date, item.end_precision) if ending else (item.start_date, item.start_precision)
    )
    if when is None or (not ending and not starting):
        if not own:
            return None
        best = own[0]
        text = best.text
    else:
        on = "on" if (precision or "day") == "day" else "in"
        text = f"{item.title}: {'ended' if ending else 'began'} {on} {written(when, precision or 'day')}."
        event = next((p for p in own if p.type == "event" and str(when.year) in p.text), None)
        if event and verbs:
            text += f" {event.text}"
    return _about_item(
        item,
        text[:900],
        question,
        "Nigran tracker record (dates from the PIPS 2024 report and the public reference facts)",
    )


async def _who_is_responsible(
    session: AsyncSession, question: Question, context: dict[str, Any]
) -> Answer | None:
    slug = context.get("item")
    if not slug or not re.search(
        r"\bresponsib|\bin charge\b|\bwho (?:runs|leads|handles)\b", question.english.lower()
    ):
        return None
    item = await get_item(session, slug)
    names = list(
        await session.scalars(
            select(ItemInstitution.institution)
            .where(ItemInstitution.item_id == item.id)
            .order_by(ItemInstitution.position)
        )
    )
    if not names:
        return None
    return _about_item(
        item,
        f"{item.title}: responsibility lies with {', '.join(names)}.",
        question,
        "Nigran tracker record",
    )


BOILERPLATE = re.compile(r"(?:Row|Column) total|Total row|Check:|Nationwide total", re.I)
STORY = re.compile(r"\bwhat happened\b|\bwhat was it\b|\bdescribe\b|\btell me about\b", re.I)
STRUCTURE = re.compile(
    r"\b(?:recommendations?|points?|clauses?|sub-?points?|measures|items|nukaat)\b", re.I
)


async def _children_answer(
    session: AsyncSession, question: Question, context: dict[str, Any]
) -> Answer | None:
    """'How many points are listed under section 7.4?': count the items under the one named."""
    text = subject_words(STRUCTURE.sub(" ", question.english))
    try:
        results = (
            await search.search(session, text, types=("item",), limit=5, count=False)
        ).results
    except InvalidInput:
        return None
    for result in results:
        parent = await get_item(session, result.id)
        children = list(
            await session.scalars(
                select(PolicyItem.title)
                .where(PolicyItem.parent_id == parent.id)
                .order_by(PolicyItem.id)
            )
        )
        if children:
            listed = "; ".join(children[:6]) + ("; ..." if len(children) > 6 else "")
            return Answer(
                text=f"{len(children)} points are listed under {parent.title}: {listed}.",
                found=True,
                citations=[
                    ChatCitation(
                        type="item",
                        id=parent.slug,
                        title=parent.title,
                        source="Nigran tracker record (from the PIPS 2024 report)",
                        url=f"/api/v1/items/{parent.slug}",
                    )
                ],
                as_of=parent.status_date,
                language=question.language,
                context=_question_context(question, item=parent.slug),
            )
    return None


LIST_STATUSES = [
    (r"partially implemented|partly implemented", "partially_implemented"),
    (r"not (?:yet )?started|not begun", "not_started"),
    (r"in progress|under way|ongoing", "in_progress"),
    (r"stalled|stuck", "stalled"),
    (r"abandoned|dropped", "abandoned"),
    (r"lapsed|expired", "lapsed"),
    (r"proposed", "proposed"),
    (r"implemented|completed|done", "implemented"),
]
LIST_KINDS = [
    (r"recommendations?", "recommendation"),
    (r"clauses|points|nukaat", "nap_clause"),
    (r"laws|legislation|acts|ordinances", "legislation"),
    (r"institutions|bodies", "institution"),
]


async def _list_answer(session: AsyncSession, question: Question) -> Answer | None:
    """'Which recommendations are stalled?': the items of that kind and status."""
    lowered = question.english.lower()
    status = next((code for p, code in LIST_STATUSES if re.search(rf"\b(?:{p})\b", lowered)), None)
    kind = next((code for p, code in LIST_KINDS if re.search(rf"\b(?:{p})\b", lowered)), None)
    if status is None:
        return None
    page = await list_items(session, ItemFilters(kind=kind, status=status), limit=200)
    label = {"nap_clause": "NAP points", "recommendation": "recommendations"}.get(
        kind or "", (kind or "items").replace("_", " ") + ("s" if kind else "")
    )
    state = STATUS_WORDS.get(status, status.replace("_", " "))
    if not page.items:
        text = f"No {label} are recorded as {state}."
    else:
        names = "; ".join(i.short_title or i.title for i in page.items[:8])
        more = f"; and {len(page.items) - 8} more" if len(page.items) > 8 else ""
        text = f"{len(page.items)} {label} are {state}: {names}{more}."
    dates = [i.status_date for i in page.items if i.status_date]
    return Answer(
        text=text,
        found=True,
        citations=[
            ChatCitation(
                type="item",
                id=i.slug,
                title=i.title,
                source="Nigran tracker: current status",
                url=f"/api/v1/items/{i.slug}",
            )
            for i in page.items[:8]
        ]
        or [
            ChatCitation(
                type="section",
                id="summary",
                title="Progress summary",
                source="Nigran tracker: current statuses",
                url="/api/v1/summary",
            )
        ],
        as_of=max(dates) if dates else None,
        language=question.language,
        context=_question_context(question),
    )


async def _summary_answer(session: AsyncSession, question: Question) -> Answer:
    summary = (await reports.summary(session)).model
    clauses = summary.nap_clauses
    counts: dict[str, int] = {}
    for clause in clauses:
        counts[clause.status] = counts.get(clause.status, 0) + 1
    parts = ", ".join(
        f"{n} {STATUS_WORDS.get(s, s.replace('_', ' '))}"
        for s, n in sorted(counts.items(), key=lambda kv: -kv[1])
    )
    as_of = await session.scalar(
        select(func.max(PolicyItem.status_date)).where(PolicyItem.kind == "nap_clause")
    )
    text = f"Of the National Action Plan's {len(clauses)} points: {parts}"
    if as_of:
        text += f" (statuses as of {written(as_of)})"
    return Answer(
        text=text + ".",
        found=True,
        citations=[
            ChatCitation(
                type="item",
                id="nap-2014",
                title="National Action Plan (NAP) 2014",
                source="Nigran tracker: current statuses of the NAP clauses",
                url="/api/v1/summary",
            )
        ],
        as_of=as_of,
        language=question.language,
        context=_question_context(question, item="nap-2014"),
    )


async def _passage_answer(
    session: AsyncSession, question: Question, context: dict[str, Any], *, extra: str = ""
) -> Answer | None:
    item_slug = context.get("item") if question.follow_up else None
    passages = await best_passages(
        session,
        question,
        extra=extra,
        item_slug=item_slug,
        limit=8,
        recommendations_only=question.kind == "recommend",
    )
    if question.entities:
        # A question about a place or group is answered by a passage that names it.
        names = [set(words(n)) for n in (*question.entities.values(), *question.entity_words)]
        passages = [
            p
            for p in passages
            if any(n <= set(words(f"{p.text} {p.title} {p.about}")) for n in names)
        ]
    if question.kind == "when":
        passages = [p for p in passages if re.search(r"\b(?:1[89]|20)\d\d\b", p.text)]
    if not passages or passages[0].coverage < MIN_COVERAGE:
        return None
    best = passages[0]
    text = best.text
    second = passages[1] if len(passages) > 1 else None
    if (
        second
        and second.key == best.key
        and question.kind in ("what", "recommend")
        and second.score > 0.8 * best.score
        and len(text) + len(second.text) < 700
    ):
        text += " " + second.text
    item = best.key if best.type == "item" else context.get("item")
    return Answer(
        text=text,
        found=True,
        citations=[_passage_citation(best)],
        language=question.language,
        context=_question_context(question, item=item),
    )


async def compose(session: AsyncSession, message: str, context: dict[str, Any]) -> Answer:
    question = read(message)
    facts = await load_facts(session)
    question.entities = named_entities(question, facts)
    previous = _previous_question(context)
    if previous is not None and question.follow_up:
        question = question.with_context(previous)
    try:
        return await _answer(session, question, facts, context)
    except InvalidInput:
        return _unanswered(question, context)


async def _answer(
    session: AsyncSession, question: Question, facts: Facts, context: dict[str, Any]
) -> Answer:
    if question.kind == "summary":
        return await _summary_answer(session, question)
    if question.kind == "list":
        listed = await _list_answer(session, question)
        if listed:
            return listed
    if question.kind == "who" and question.follow_up:
        responsible = await _who_is_responsible(session, question, context)
        if responsible:
            return responsible
    if question.kind == "count" and STRUCTURE.search(question.english) and not question.metrics:
        counted_items = await _children_answer(session, question, context)
        if counted_items:
            return counted_items
    numeric = (question.kind == "most" or (question.kind == "count" and question.metrics)) or (
        bool(question.metrics)
        and bool(question.years)
        and question.kind not in ("when", "who", "status", "recommend")
    )
    if numeric:
        counted = await _facts_answer(session, question, facts, context)
        if counted:
            return counted
        if question.years and (min(question.years) < 2000 or question.entities):
            return _unanswered(question, context)
        previous_words = ""
        if question.follow_up and context.get("question"):
            previous_words = context["question"].get("english", "")
        told = await _passage_answer(session, question, context, extra=previous_words)
        return told or _unanswered(question, context)
    if question.kind == "status":
        status = await _status_answer(session, question, context)
        if status:
            return status
    if question.kind == "when":
        dated = await _when_answer(session, question, context)
        if dated:
            return dated
    extra = (
        context["question"].get("english", "")
        if question.follow_up and context.get("question")
        else ""
    )
    told = await _passage_answer(session, question, context, extra=extra)
    return told or _unanswered(question, context)
