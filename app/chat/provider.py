"""Who answers a message: the offline engine, or an OpenAI-compatible provider when configured.

The offline engine always answers first. A configured provider may then phrase the answer,
looking facts up through tools that call the same read-only service functions as the API. Its
reply reaches the user only if every number it states is found in what the tools returned, in
the offline answer or in the question itself, and its citations are only ever records the tools
(or the offline engine) returned. Whatever goes wrong on the way (no connection, an error
status, a timeout, a malformed reply, tool calls without end), the offline answer stands, with
a note saying why.
"""

import asyncio
import html
import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, get_args
from urllib.parse import urlencode

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.chat import engine
from app.chat.engine import Answer
from app.chat.schemas import ChatCitation
from app.core.config import Settings, get_settings
from app.core.errors import NigranError
from app.incidents import service as incidents
from app.incidents import trends
from app.incidents.schemas import DatasetRef, ObservationOut, Period
from app.policies import service as policies
from app.policies.schemas import Citation
from app.reports import service as reports
from app.search import service as search

log = logging.getLogger(__name__)

API = "/api/v1"
RESULT_CHARS = 6000
SEARCH_LIMIT = 8
OBSERVATION_LIMIT = 60
TREND_POINTS = 40
CITATION_TYPES: tuple[str, ...] = get_args(ChatCitation.model_fields["type"].annotation)


# --- the uncited-number rule ----------------------------------------------------------------

# Digits with optional thousands separators and decimals. Every digit of a text falls in some
# number (".5" is 5, "3.1.2" is 3.1 and 2), so none escapes the check. `\d` also takes Urdu
# (Extended Arabic-Indic) digits, which Decimal reads as the same values.
_NUMBER = re.compile(r"(?<!\d)(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?!\d)")


def numbers_in(text: str) -> list[str]:
    """Every number written in `text`, as written."""
    return _NUMBER.findall(text)


def _value(token: str) -> Decimal:
    return Decimal(token.replace(",", ""))


def supported_values(texts: Iterable[str]) -> set[Decimal]:
    """The values the texts state, each also rounded to fewer decimals (12.34 supports 12.3)."""
    values: set[Decimal] = set()
    for text in texts:
        for token in numbers_in(text):
            value = _value(token)
            values.add(value)
            places = -int(value.as_tuple().exponent)
            for kept in range(places):
                try:
                    values.add(value.quantize(Decimal(1).scaleb(-kept), rounding=ROUND_HALF_UP))
                except InvalidOperation:  # more digits than Decimal's precision: keep it exact
                    break
    return values


def unsupported_numbers(reply: str, sources: Iterable[str], message: str = "") -> list[str]:
    """Numbers the reply states that no source holds and the user did not give, in reply order.

    Values are compared, not spellings: 1,234 matches 1234, and 174.0 matches 174.
    """
    known = supported_values([*sources, message])
    unsupported: list[str] = []
    for token in numbers_in(reply):
        if _value(token) not in known and token not in unsupported:
            unsupported.append(token)
    return unsupported


# --- tools ----------------------------------------------------------------------------------


def _tool(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            },
        },
    }


def _string(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


TOOLS = [
    _tool(
        "search",
        "Find policy items (laws, policies, National Action Plan clauses, institutions), "
        "timeline events, militant groups, institutions, places and statistics sets by words.",
        {
            "q": _string("Words to search for."),
            "type": {
                "type": "string",
                "enum": list(search.TYPES),
                "description": "Only this type.",
            },
        },
        ["q"],
    ),
    _tool(
        "get_item",
        "One policy item by slug: its status and when it was set, summary, status history "
        "(newest first) and recent timeline events (newest first).",
        {"slug": _string("The item's slug, as search returns it.")},
        ["slug"],
    ),
    _tool(
        "statistics",
        "Incident statistics as published in the report's tables: observations with their "
        "period, dimensions (region, district, group, target, ...) and metrics (attacks, "
        "killed, injured, ...).",
        {
            "metric": _string("Only observations with this metric, e.g. attacks, killed."),
            "year": {"type": "integer", "description": "Only periods within this year."},
            "region": _string("Region or province; aliases accepted (KPK)."),
            "district": _string("District; aliases accepted (DI Khan)."),
            "group": _string("Militant group; aliases accepted (ISKP)."),
            "target": _string("Target of the attacks."),
            "table": _string("Source table as labelled, e.g. Table 4."),
        },
        [],
    ),
    _tool(
        "trend",
        "A metric as a series by period, optionally split by region, district, group or "
        "target, with each point's change from the previous one.",
        {
            "metric": _string("attacks, killed, injured, operations, clashes, arrests, ..."),
            "group_by": _string("A period (year, quarter, month), a split, or both: year,region."),
            "region": _string("Only this region; aliases accepted."),
            "group": _string("Only this militant group; aliases accepted."),
            "source": {
                "type": "string",
                "enum": [s.value for s in trends.TrendSource],
                "description": "report (default): the report's aggregates; records: imported "
                "incident records.",
            },
        },
        ["metric"],
    ),
    _tool(
        "summary",
        "Progress of the tracker: items by status and kind, how many are implemented, "
        "stalled items and items past their target date.",
        {},
        [],
    ),
]


class ToolError(Exception):
    """A tool call the tools refuse; the model is told why and may try again."""


@dataclass
class _Record:
    """A record the model was shown: how to cite it, and the text (minus refs) it was shown as."""

    citation: ChatCitation
    text: str
    values: set[Decimal]


@dataclass
class _Result:
    payload: dict[str, Any]
    trim: tuple[str, ...] = ()
    citations: dict[str, ChatCitation] | None = None


def _ref(citation: ChatCitation) -> str:
    return f"{citation.type}:{citation.id}"


def _clip(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def _source_text(source: Citation | DatasetRef) -> str:
    """'Document title, Table 4' or 'acled records': what a citation's `source` shows."""
    if isinstance(source, DatasetRef):
        return f"{source.dataset} incident records"
    parts = [source.document or source.doc]
    if source.table:
        parts.append(source.table)
    elif source.section:
        parts.append(f"section {source.section}")
    return ", ".join(parts)


def _period_text(period: Period) -> str:
    start, end = period.start, period.end
    if (start.month, start.day, end.month, end.day) == (1, 1, 12, 31):
        return str(start.year) if start.year == end.year else f"{start.year}-{end.year}"
    return f"{start.isoformat()} to {end.isoformat()}"


def _without_refs(value: Any) -> Any:
    """The payload minus its refs: a record's id is not a number the records state."""
    if isinstance(value, dict):
        return {k: _without_refs(v) for k, v in value.items() if k != "ref"}
    if isinstance(value, list):
        return [_without_refs(v) for v in value]
    return value


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _fit(payload: dict[str, Any], trim: tuple[str, ...]) -> dict[str, Any]:
    """Drop rows from the end of the `trim` lists, last list first, until the JSON fits.

    Every string in a payload is clipped when it is built, so the rest always fits.
    """
    for key in reversed(trim):
        rows = payload.get(key)
        dropped = 0
        while isinstance(rows, list) and rows and len(_dumps(payload)) > RESULT_CHARS:
            rows.pop()
            dropped += 1
            payload[f"{key}_left_out"] = dropped
    return payload


def _text_arg(args: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        if required:
            raise ToolError(f"{name} is required")
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ToolError(f"{name} must be a string")
    text = str(value).strip()
    if len(text) > 200:
        raise ToolError(f"{name} is too long (200 characters at most)")
    return text or None


def _year_arg(args: dict[str, Any]) -> int | None:
    value = args.get("year")
    if value is None or value == "":
        return None
    try:
        year = int(value) if isinstance(value, float) and value.is_integer() else int(str(value))
    except ValueError:
        raise ToolError(f"year must be a whole year, e.g. 2023, not {value!r}") from None
    if not 1947 <= year <= 2100:
        raise ToolError("year must be between 1947 and 2100")
    return year


class Tools:
    """The read-only tools one conversation may call, and every record they have shown."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.records: dict[str, _Record] = {}
        # Records a tool looked up one at a time (an item, a trend, the summary), not a list.
        self.looked_up: list[str] = []
        self._handlers: dict[str, Callable[[dict[str, Any]], Awaitable[_Result]]] = {
            "search": self._search,
            "get_item": self._get_item,
            "statistics": self._statistics,
            "trend": self._trend,
            "summary": self._summary,
        }

    async def call(self, name: str, arguments: str) -> str:
        """Run one tool call and return its result as the JSON the model reads."""
        handler = self._handlers.get(name)
        try:
            if handler is None:
                raise ToolError(f"no tool {name!r}; use one of {', '.join(self._handlers)}")
            try:
                args = json.loads(arguments or "{}")
            except ValueError:
                raise ToolError("arguments are not valid JSON") from None
            if not isinstance(args, dict):
                raise ToolError("arguments must be a JSON object")
            result = await handler(args)
        except ToolError as exc:
            result = _Result({"error": str(exc)})
        except NigranError as exc:
            result = _Result({"error": exc.detail, **exc.extra})
            if len(_dumps(result.payload)) > RESULT_CHARS:
                result = _Result({"error": _clip(exc.detail, RESULT_CHARS // 2)})
        payload = _fit(result.payload, result.trim)
        self._remember(payload, result.citations or {})
        return _dumps(payload)

    def _remember(self, payload: dict[str, Any], citations: dict[str, ChatCitation]) -> None:
        """Register the records that made it into the payload, with the numbers each states."""
        rows = [payload, *(r for v in payload.values() if isinstance(v, list) for r in v)]
        for row in rows:
            ref = row.get("ref") if isinstance(row, dict) else None
            if ref not in citations:
                continue
            text = _dumps(_without_refs(row))
            known = self.records.get(ref)
            if known is not None:
                text = f"{known.text}\n{text}"
            # A later, fuller look at a record (get_item after search) gives the better source.
            self.records[ref] = _Record(citations[ref], text, supported_values([text]))
            if row is payload and ref not in self.looked_up:
                self.looked_up.append(ref)

    def add(self, citation: ChatCitation) -> None:
        """Register a record the offline engine cited, so the model may cite it as well."""
        text = f"{citation.title}\n{citation.source}"
        self.records.setdefault(_ref(citation), _Record(citation, text, supported_values([text])))

    async def _search(self, args: dict[str, Any]) -> _Result:
        q = _text_arg(args, "q", required=True)
        kind = _text_arg(args, "type")
        if kind and kind not in search.TYPES:
            raise ToolError(f"type must be one of {', '.join(search.TYPES)}")
        page = await search.search(
            self.session, q or "", types=(kind,) if kind else (), limit=SEARCH_LIMIT
        )
        rows, citations = [], {}
        for r in page.results:
            citation = ChatCitation(
                type="stat" if r.type == "statistics" else r.type,  # type: ignore[arg-type]
                id=r.id,
                title=r.title,
                source="Nigran",
                url=r.url,
            )
            ref = _ref(citation)
            citations[ref] = citation
            snippet = html.unescape(re.sub(r"</?mark>", "", r.snippet))
            rows.append({"ref": ref, "type": r.type, "title": r.title, "snippet": snippet})
        payload: dict[str, Any] = {"query": page.interpreted, "results": rows}
        if page.notes:
            payload["notes"] = page.notes
        return _Result(payload, ("results",), citations)

    async def _get_item(self, args: dict[str, Any]) -> _Result:
        slug = _text_arg(args, "slug", required=True) or ""
        item = await policies.get_item(self.session, slug)
        detail = await policies.item_detail(self.session, item)
        citation = ChatCitation(
            type="item",
            id=detail.slug,
            title=detail.title,
            source=_source_text(detail.sources[0]) if detail.sources else "Nigran",
            url=f"{API}/items/{detail.slug}",
        )
        payload: dict[str, Any] = {
            "ref": _ref(citation),
            "title": detail.title,
            "kind": detail.kind,
            "number": detail.number,
            "status": detail.status,
            "progress": detail.progress,
            "status_date": detail.status_date,
            "jurisdiction": detail.jurisdiction,
            "institutions": detail.institutions[:10],
            "summary": _clip(detail.summary, 800),
            "sources": list(dict.fromkeys(_source_text(s) for s in detail.sources))[:5],
            "status_by_jurisdiction": {
                k: {"status": v.status, "effective_date": v.effective_date}
                for k, v in list(detail.status_by_jurisdiction.items())[:8]
            },
            "history": [
                {"status": h.status, "effective_date": h.effective_date, "note": _clip(h.note, 240)}
                for h in detail.history[:6]
            ],
            "timeline": [
                {"date": e.date, "type": e.type, "description": _clip(e.description, 240)}
                for e in reversed(detail.timeline[-12:])
            ],
        }
        return _Result(payload, ("history", "timeline"), {payload["ref"]: citation})

    async def _statistics(self, args: dict[str, Any]) -> _Result:
        dims = {name: _text_arg(args, name) for name in ("region", "district", "group", "target")}
        filters = incidents.ObservationFilters(
            table=_text_arg(args, "table"),
            metric=_text_arg(args, "metric"),
            year=_year_arg(args),
            dimensions=tuple((k, v) for k, v in dims.items() if v),
        )
        page = await incidents.list_observations(self.session, filters, limit=OBSERVATION_LIMIT)
        rows, citations = [], {}
        for obs in page.observations:
            citation = _observation_citation(obs)
            ref = _ref(citation)
            citations[ref] = citation
            rows.append(
                {
                    "ref": ref,
                    "source": citation.source,
                    "period": _period_text(obs.period),
                    "dimensions": obs.dimensions,
                    "metrics": obs.metrics,
                    "total": obs.total,
                    "note": _clip(obs.note, 200),
                }
            )
        payload: dict[str, Any] = {
            "observations": rows,
            "more_match": page.next_cursor is not None,
        }
        if not rows:
            payload["note"] = "no observation matches; try fewer filters, or search"
        return _Result(payload, ("observations",), citations)

    async def _trend(self, args: dict[str, Any]) -> _Result:
        metric = _text_arg(args, "metric", required=True) or ""
        raw_source = _text_arg(args, "source") or trends.TrendSource.REPORT.value
        try:
            source = trends.TrendSource(raw_source)
        except ValueError:
            raise ToolError("source must be report or records") from None
        group_by = _text_arg(args, "group_by")
        period, split = trends.parse_group_by(group_by, source)
        dims = {name: _text_arg(args, name) for name in ("region", "group")}
        query = trends.TrendQuery(
            metric=metric,
            source=source,
            period=period,
            split=split,
            dimensions=tuple((k, v) for k, v in dims.items() if v),
        )
        out = await trends.trend(self.session, query)
        params = {"metric": metric, "source": source.value, "group_by": group_by, **dims}
        params = {k: v for k, v in params.items() if v}
        sources = list(dict.fromkeys(_source_text(s) for s in out.sources))
        title = f"{out.metric} by {', '.join(out.group_by) or 'period'}"
        if out.filters:
            title += " (" + ", ".join(f"{k}: {v}" for k, v in out.filters.items()) + ")"
        citation = ChatCitation(
            type="stat" if source == trends.TrendSource.REPORT else "record",
            id="trend?" + urlencode(params),
            title=title,
            source=_clip("; ".join(sources), 300) or "Nigran",
            url=f"{API}/trends?{urlencode(params)}",
        )
        payload: dict[str, Any] = {
            "ref": _ref(citation),
            "metric": out.metric,
            "unit": out.unit,
            "source": out.source,
            "filters": out.filters,
            "notes": [_clip(n, 240) for n in out.notes[:5]],
            "sources": sources[:5],
            "series": [
                {
                    "key": s.key,
                    "points": [
                        {
                            "period": _period_text(p.period),
                            "value": p.value,
                            "change": p.change,
                            "change_pct": p.change_pct,
                        }
                        for p in s.points[-TREND_POINTS:]
                    ],
                }
                for s in out.series
            ],
        }
        return _Result(payload, ("series",), {payload["ref"]: citation})

    async def _summary(self, args: dict[str, Any]) -> _Result:
        result = (await reports.summary(self.session)).model
        citation = ChatCitation(
            type="record",
            id="summary",
            title=f"Progress summary of the tracker as of {result.as_of.isoformat()}",
            source="Nigran: the current status of every tracked item",
            url=f"{API}/summary",
        )

        def pct(share: float) -> float:
            return round(share * 100, 1)

        payload: dict[str, Any] = {
            "ref": _ref(citation),
            "as_of": result.as_of,
            "items": result.total,
            "by_status": result.by_status,
            "implemented": result.implemented,
            "partially_implemented": result.partially_implemented,
            "implemented_pct": pct(result.share_implemented),
            "partially_implemented_pct": pct(result.share_partially_implemented),
            "by_kind": {
                kind: {
                    "items": b.total,
                    "implemented": b.implemented,
                    "partially_implemented": b.partially_implemented,
                }
                for kind, b in result.by_kind.items()
            },
            "stale_items": len(result.stale),
            "stalled": [{"slug": i.slug, "title": i.title} for i in result.stalled[:20]],
            "past_target_date": [
                {"slug": i.slug, "title": i.title, "target_date": i.date}
                for i in result.past_target_date[:20]
            ],
        }
        return _Result(payload, ("stalled", "past_target_date"), {payload["ref"]: citation})


def _observation_citation(obs: ObservationOut) -> ChatCitation:
    source = _source_text(obs.source)
    label = obs.source.table or obs.statistics
    query: dict[str, Any] = {"statistics": obs.statistics, **obs.dimensions}
    period = _period_text(obs.period)
    if period.isdigit():
        query["year"] = period
    return ChatCitation(
        type="stat",
        id=str(obs.id),
        title=", ".join([label, *obs.dimensions.values(), period]),
        source=source,
        url=f"{API}/stats?{urlencode(query)}",
    )


# --- citing the reply -----------------------------------------------------------------------

# A ref as the tools write it (`stat:61`, `item:nap-2014`), bracketed or not: models also write
# (stat:61) or a bare stat:61, and its id must not be read as a number the answer states.
_REF = re.compile(rf"(?<![\w/])(?:{'|'.join(CITATION_TYPES)}):[^\s\[\]()<>,;]+")
_EMPTY_BRACKETS = re.compile(r"\s*(?:\[[\s,;]*\]|\([\s,;]*\))")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"[ \t]+([.,;:!?])")


def split_refs(reply: str) -> tuple[str, list[str]]:
    """The reply without the refs it cites, and those refs in order."""
    refs: list[str] = []

    def take(match: re.Match[str]) -> str:
        ref = match.group().rstrip(".:!?")
        refs.append(ref)
        return match.group()[len(ref) :]

    text = _EMPTY_BRACKETS.sub("", _REF.sub(take, reply))
    text = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip(), list(dict.fromkeys(refs))


def choose_citations(
    text: str, refs: list[str], message: str, tools: Tools, offline: Answer
) -> list[ChatCitation]:
    """The records behind the reply, all of them ones the tools or the offline engine returned.

    In order: the records the model cited by ref; for every number it states (other than the
    user's own), a record holding that number; the records it names by title. If none of these
    applies, the single record a tool looked up, then the offline engine's citations.
    """
    chosen: dict[str, ChatCitation] = {}
    for ref in refs:
        if ref in tools.records:
            chosen.setdefault(ref, tools.records[ref].citation)
    asked = supported_values([message])
    offline_values = supported_values([offline.text]) if offline.citations else set()
    for token in numbers_in(text):
        value = _value(token)
        if value in asked or any(value in tools.records[r].values for r in chosen):
            continue
        holder = next((r for r, rec in tools.records.items() if value in rec.values), None)
        if holder is not None:
            chosen[holder] = tools.records[holder].citation
        elif value in offline_values:
            chosen.update((_ref(c), c) for c in offline.citations)
    lowered = text.casefold()
    for ref, record in tools.records.items():
        if len(record.citation.title) >= 4 and record.citation.title.casefold() in lowered:
            chosen.setdefault(ref, record.citation)
    if not chosen:
        chosen = {ref: tools.records[ref].citation for ref in tools.looked_up}
    if not chosen:
        chosen = {_ref(c): c for c in offline.citations}
    return list(chosen.values())


# --- the provider ---------------------------------------------------------------------------


class ProviderError(Exception):
    """The provider gave no usable answer; `reason` says why, for the user's note."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _system_prompt(offline: Answer) -> str:
    language = "Urdu" if offline.language == "ur" else "English"
    sources = "\n".join(f"- [{_ref(c)}] {c.title} ({c.source})" for c in offline.citations)
    return (
        "You answer questions for Nigran, a tracker of Pakistan's counter-terrorism and "
        "counter-extremism policy: policy items with their status and timelines, and incident "
        "statistics.\n"
        "- Answer only from the tool results and the draft below, never from memory; call the "
        "tools to look facts up.\n"
        "- After each fact, cite the record it comes from by its ref in square brackets, e.g. "
        "[item:some-slug] or [stat:the-id].\n"
        "- Be short: one to three sentences.\n"
        "- Write numbers as digits, exactly as the records state them; do not work out new "
        "ones (no sums, differences or shares the records do not state).\n"
        "- If the records cannot answer the question, say so plainly.\n"
        f"- Answer in {language}.\n\n"
        "Draft answer from the offline engine, built from the same records:\n"
        f"{offline.text}\n"
        f"Its sources:\n{sources or '- none'}"
    )


def _message(data: Any) -> dict[str, Any]:
    """The assistant message of a chat-completions reply, checked for the fields we use."""
    try:
        message = data["choices"][0]["message"]
    except (KeyError, IndexError, TypeError):
        raise ProviderError("malformed reply: no choices[0].message") from None
    if not isinstance(message, dict):
        raise ProviderError("malformed reply: message is not an object")
    calls = message.get("tool_calls") or []
    if not isinstance(calls, list):
        raise ProviderError("malformed reply: tool_calls is not a list")
    for call in calls:
        function = call.get("function") if isinstance(call, dict) else None
        if not (
            isinstance(function, dict)
            and isinstance(call.get("id"), str)
            and isinstance(function.get("name"), str)
        ):
            raise ProviderError("malformed reply: a tool call lacks its id or name")
        # The protocol sends arguments as a JSON string; some servers send the object itself.
        if isinstance(function.get("arguments"), dict):
            function["arguments"] = json.dumps(function["arguments"])
    return message


def _content(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if not isinstance(content, str) or not content.strip():
        raise ProviderError("malformed reply: no answer text")
    return content


async def _complete(
    client: httpx.AsyncClient, settings: Settings, messages: list[dict[str, Any]]
) -> dict[str, Any]:
    body = {
        "model": settings.chat_provider_model,
        "messages": messages,
        "tools": TOOLS,
        "tool_choice": "auto",
        "temperature": 0,
    }
    url = settings.chat_provider_base_url.rstrip("/") + "/chat/completions"
    try:
        # The whole exchange, not only each read: a server trickling bytes still times out.
        async with asyncio.timeout(settings.chat_provider_timeout_seconds):
            response = await client.post(url, json=body)
    except (TimeoutError, httpx.TimeoutException):
        raise ProviderError("timeout") from None
    except httpx.ConnectError:
        raise ProviderError("could not connect") from None
    except httpx.HTTPError as exc:
        raise ProviderError(f"connection failed: {exc.__class__.__name__}") from None
    if response.status_code >= 400:
        raise ProviderError(f"HTTP {response.status_code}")
    try:
        data = response.json()
    except ValueError:
        raise ProviderError("malformed reply: not JSON") from None
    return _message(data)


async def _converse(
    session: AsyncSession, message: str, offline: Answer, settings: Settings
) -> Answer:
    tools = Tools(session)
    for citation in offline.citations:
        tools.add(citation)
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": _system_prompt(offline)},
        {"role": "user", "content": message},
    ]
    headers = {"Accept": "application/json"}
    if settings.chat_provider_api_key:
        headers["Authorization"] = f"Bearer {settings.chat_provider_api_key}"
    timeout = httpx.Timeout(settings.chat_provider_timeout_seconds)
    rounds = settings.chat_provider_max_tool_rounds
    async with httpx.AsyncClient(headers=headers, timeout=timeout) as client:
        for round_ in range(rounds + 1):
            reply = await _complete(client, settings, messages)
            calls = reply.get("tool_calls") or []
            if not calls:
                break
            if round_ == rounds:
                raise ProviderError(f"still calling tools after {rounds} rounds")
            messages.append(
                {"role": "assistant", "content": reply.get("content"), "tool_calls": calls}
            )
            for call in calls:
                function = call["function"]
                content = await tools.call(function["name"], str(function.get("arguments") or ""))
                messages.append({"role": "tool", "tool_call_id": call["id"], "content": content})
    text, refs = split_refs(_content(reply))
    # Only what a citable record states counts: the rows the tools returned (their refs left
    # out) and the offline answer when it cites something; not error texts or row counts.
    sources = [record.text for record in tools.records.values()]
    if offline.citations:
        sources.append(offline.text)
    unsupported = unsupported_numbers(text, sources, message)
    if unsupported:
        return _offline(
            offline,
            f"the model's answer stated a number no record supports ({', '.join(unsupported)}); "
            "this answer is from the offline engine",
        )
    citations = choose_citations(text, refs, message, tools, offline)
    return Answer(
        text=text,
        found=bool(citations),
        citations=citations,
        as_of=offline.as_of,
        language=offline.language,
        context=offline.context,
        engine=settings.chat_provider_model or "provider",
    )


def _offline(offline: Answer, note: str) -> Answer:
    return replace(offline, engine="offline", notes=[*offline.notes, note])


async def respond(session: AsyncSession, message: str, context: dict[str, Any]) -> Answer:
    """Answer with the offline engine, phrased by the provider when one is configured and sound.

    Settings are read per call, so a changed configuration applies to the next message.
    """
    offline = await engine.answer(session, message, context)
    settings = get_settings()
    if not settings.chat_provider_base_url:
        return offline
    try:
        return await _converse(session, message, offline, settings)
    except ProviderError as exc:
        reason = exc.reason
    except Exception:
        # The provider is optional: a fault in its path must not cost the user an answer.
        log.exception("chat provider path failed")
        reason = "internal error"
    log.warning(
        "chat provider %s (model %r) failed: %s; answering offline",
        settings.chat_provider_base_url,
        settings.chat_provider_model,
        reason,
    )
    return _offline(
        offline,
        f"the language model provider failed ({reason}); this answer is from the offline engine",
    )
