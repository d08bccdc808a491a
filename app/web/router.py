"""The HTML pages: each calls the service functions the API calls and hands the result to a
template. Nothing here decides a status, counts an item or reads a table."""

from collections.abc import Callable, Coroutine
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field, ValidationError

from app.chat import service as chat_service
from app.chat.router import CommittedSession
from app.chat.schemas import ChatIn, ChatOut, ConversationOut
from app.core.db import SessionDep
from app.core.errors import InvalidInput, NigranError, NotFound, UnsupportedMediaType
from app.core.pagination import Cursor
from app.incidents import charts, comparisons, trends
from app.incidents import service as incidents
from app.incidents.router import trend_query
from app.incidents.schemas import TrendOut
from app.incidents.trends import RECORD_METRICS, TrendSource
from app.policies import service as policies
from app.policies.router import CurrentItem
from app.policies.schemas import ItemDetail, ItemRef, StatusEntry
from app.policies.vocabulary import EventType, ItemKind, Theme
from app.reports import render
from app.reports import service as reports
from app.reports.schemas import Breakdown
from app.search import service as search
from app.search.query import MAX_QUERY_LENGTH
from app.timeline import service as timeline
from app.timeline.router import Filters as TimelineFilters
from app.tracking.status import Status
from app.web import STATIC_DIR, templates
from app.web.security import SameOrigin, SecurityHeaders
from app.web.session import pop_flash

CHANGES_DAYS = 180
TIMELINE_PAGE = 100
SEARCH_PAGE = 20
INSTITUTIONS_SHOWN = 10
FORM_TYPE = "application/x-www-form-urlencoded"
# The dashboard's headline: the PIPS yearly totals, asked for as the trends API is asked.
HEADLINE_TREND = {"metric": "attacks", "statistics": "pips-yearly-totals", "group_by": "year"}


def page(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    # A message left by the page that sent the visitor here ("your update was proposed").
    context.setdefault("page_flash", pop_flash(request) if "session" in request.scope else None)
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _drop_empty_fields(request: Request) -> None:
    """A GET form sends every field, the empty ones too; an empty field asks for no filter."""
    raw = request.scope.get("query_string", b"").decode("latin-1")
    pairs = parse_qsl(raw, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if v.strip()]
    if len(kept) != len(pairs):
        request.scope["query_string"] = urlencode(kept).encode("latin-1")


class PageRoute(APIRoute):
    """A page's refusals as pages: a bad query or an unknown item answers HTML, not the API's
    problem+json (which the app-wide handler would send)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            _drop_empty_fields(request)
            try:
                return await handler(request)
            except RequestValidationError as exc:
                problems = [
                    f"{e['loc'][-1] if e['loc'] else 'request'}: {e['msg']}" for e in exc.errors()
                ]
                return page(
                    request, "error.html", 422, title="Invalid input", problems=problems[:5]
                )
            except NigranError as exc:
                return page(
                    request, "error.html", exc.status_code, title=exc.title, problems=[exc.detail]
                )

        return page_handler


router = APIRouter(
    route_class=PageRoute, include_in_schema=False, default_response_class=HTMLResponse
)


def install(app: FastAPI) -> None:
    """Mount the pages at the root, their stylesheet at /static, and their headers."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(SecurityHeaders)


def _trend_link(params: dict[str, str], path: str = "") -> str:
    return f"/api/v1/trends{path}?{urlencode(params)}"


# --- dashboard and briefing -------------------------------------------------------------------


def _columns(breakdowns: list[Breakdown]) -> list[str]:
    """The statuses that occur in a table, in vocabulary order: its rows then add up."""
    return [s.value for s in Status if any(b.by_status[s.value] for b in breakdowns)]


@router.get("/")
async def dashboard(request: Request, session: SessionDep) -> HTMLResponse:
    summary = (await reports.summary(session)).model
    since = summary.as_of - timedelta(days=CHANGES_DAYS)
    changes = await reports.list_changes(session, since)
    headline = await trends.trend(session, await trend_query(**HEADLINE_TREND))
    institutions = sorted(summary.by_institution.items(), key=lambda kv: (-kv[1].total, kv[0]))
    # Table rows: (label, the page that lists them, their breakdown).
    sections = [(s.title, f"/items/{s.slug}", s) for s in summary.by_recommendation_section]
    by_institution = [
        (name, "/timeline?" + urlencode({"institution": name}), b)
        for name, b in institutions[:INSTITUTIONS_SHOWN]
    ]
    return page(
        request,
        "dashboard.html",
        summary=summary,
        headline_text=render._headline(summary),
        section_columns=_columns([b for _, _, b in sections]),
        institution_columns=_columns([b for _, _, b in by_institution]),
        sections=sections,
        institutions=by_institution,
        institutions_total=len(institutions),
        changes=changes,
        trend=headline,
        trend_alt=charts.describe(headline),
        chart_src=_trend_link(HEADLINE_TREND, "/chart.svg"),
        trend_page=f"/trends?{urlencode(HEADLINE_TREND)}",
    )


@router.get("/briefing")
async def briefing(
    request: Request,
    session: SessionDep,
    as_of: Annotated[
        date | None, Query(description="The summary as it stood on this date.")
    ] = None,
) -> HTMLResponse:
    summary = (await reports.summary(session, as_of=as_of)).model
    documents = await policies.document_titles(session)
    return page(
        request,
        "briefing.html",
        summary=summary,
        headline_text=render._headline(summary),
        tables=render._tables(summary),
        documents=documents,
        asked_as_of=as_of,
    )


# --- items and the timeline ---------------------------------------------------------------------


def current_entry(detail: ItemDetail) -> StatusEntry | None:
    """The approved history entry the item's current status and its date were copied from."""
    return next(
        (
            e
            for e in detail.history
            if e.review_state == "approved"
            and e.status == detail.status
            and e.effective_date == detail.status_date
        ),
        None,
    )


def _unique(refs: list[ItemRef]) -> list[ItemRef]:
    """Items it names and items that name it, each once."""
    first: dict[str, ItemRef] = {}
    for ref in refs:
        first.setdefault(ref.slug, ref)
    return list(first.values())


@router.get("/items/{slug}")
async def item_page(request: Request, item: CurrentItem, session: SessionDep) -> HTMLResponse:
    detail = await policies.item_detail(session, item)
    linked = await comparisons.item_trends(session, item)
    return page(
        request,
        "item.html",
        item=detail,
        current=current_entry(detail),
        related=_unique([*detail.related, *detail.related_by]),
        linked=linked,
        describe=charts.describe,
        feed_url="/api/v1/feeds/changes.atom?" + urlencode({"item": detail.slug}),
    )


@router.get("/timeline")
async def timeline_page(
    request: Request, session: SessionDep, filters: TimelineFilters, cursor: Cursor = None
) -> HTMLResponse:
    result = await timeline.list_events(session, filters, limit=TIMELINE_PAGE, cursor=cursor)
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    query = urlencode(params)
    return page(
        request,
        "timeline.html",
        filters=filters,
        events=result.events,
        next_url=f"/timeline?{urlencode([*params, ('cursor', result.next_cursor)])}"
        if result.next_cursor
        else None,
        first_page_url=f"/timeline?{query}" if cursor else None,
        csv_url=f"/api/v1/timeline?{urlencode([*params, ('format', 'csv')])}",
        feed_url=f"/api/v1/feeds/changes.atom?{query}",
        themes=[t.value for t in Theme],
        kinds=[k.value for k in ItemKind],
        event_types=[t.value for t in EventType],
    )


# --- trends ---------------------------------------------------------------------------------


class TrendForm(BaseModel):
    """The trends API's parameters, every one optional: with no metric the page is a form."""

    metric: str | None = Field(None, max_length=60)
    source: TrendSource = TrendSource.REPORT
    group_by: str | None = Field(None, max_length=40)
    region: str | None = Field(None, max_length=120)
    district: str | None = Field(None, max_length=120)
    group: str | None = Field(None, max_length=200)
    target: str | None = Field(None, max_length=200)
    group_type: str | None = Field(None, max_length=60)
    incident_type: str | None = Field(None, max_length=120)
    table: str | None = Field(None, max_length=20)
    statistics: str | None = Field(None, max_length=120)
    period_from: date | None = Field(None, alias="from")
    period_to: date | None = Field(None, alias="to")
    dataset: str | None = Field(None, max_length=60)
    event_type: str | None = Field(None, max_length=120)


@router.get("/trends")
async def trends_page(
    request: Request, session: SessionDep, form: Annotated[TrendForm, Query()]
) -> HTMLResponse:
    asked = form.model_dump(mode="json", by_alias=True, exclude_unset=True, exclude_none=True)
    out: TrendOut | None = None
    problem: InvalidInput | None = None
    if form.metric:
        try:
            out = await trends.trend(session, await trend_query(**form.model_dump()))
        except InvalidInput as exc:
            problem = exc
    tables = await incidents.list_tables(session)
    return page(
        request,
        "trends.html",
        422 if problem else 200,
        form=form,
        trend=out,
        problem=problem,
        available=problem.extra.get("available") if problem else None,
        alt=charts.describe(out) if out else None,
        links={
            "svg": _trend_link(asked, "/chart.svg"),
            "png": _trend_link(asked, "/chart.png"),
            "csv": _trend_link({**asked, "format": "csv"}),
            "json": _trend_link(asked),
        },
        metrics=sorted({*await trends.report_metrics(session), *RECORD_METRICS}),
        table_labels=sorted({t.table for t in tables if t.table}),
        statistics_ids=[t.id for t in tables],
        places=[p.name for p in await incidents.list_places(session)],
        groups=[g.name for g in await incidents.list_groups(session)],
        sources=[s.value for s in TrendSource],
    )


# --- search ---------------------------------------------------------------------------------


@router.get("/search")
async def search_page(
    request: Request,
    session: SessionDep,
    q: Annotated[str | None, Query(max_length=MAX_QUERY_LENGTH)] = None,
    type: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    result = None
    problem: str | None = None
    if type and type not in search.TYPES:
        problem = f"unknown type {type}; use {', '.join(search.TYPES)}"
    elif q is not None:
        try:
            result = await search.search(
                session, q, types=[type] if type else [], limit=SEARCH_PAGE
            )
        except InvalidInput as exc:
            problem = exc.detail
    return page(
        request,
        "search.html",
        422 if problem else 200,
        q=q or "",
        type=type,
        result=result,
        problem=problem,
        types=search.TYPES,
    )


# --- chat -----------------------------------------------------------------------------------


async def _form_fields(request: Request) -> dict[str, str]:
    """The posted form's fields (the body limit middleware has already bounded its size)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM_TYPE:
        raise UnsupportedMediaType(f"post the chat form as {FORM_TYPE}")
    body = (await request.body()).decode("utf-8", errors="replace")
    return dict(parse_qsl(body, keep_blank_values=True))


def _chat_page(
    request: Request,
    status_code: int = 200,
    *,
    conversation: ConversationOut | None = None,
    answer: ChatOut | None = None,
    conversation_id: str | None = None,
    message: str = "",
    problem: str | None = None,
) -> HTMLResponse:
    return page(
        request,
        "chat.html",
        status_code,
        conversation=conversation,
        answer=answer,
        conversation_id=conversation_id,
        message=message,
        problem=problem,
    )


@router.get("/chat")
async def chat_form(request: Request) -> HTMLResponse:
    return _chat_page(request)


@router.post("/chat")
async def chat_post(
    request: Request, _same_origin: SameOrigin, session: CommittedSession
) -> HTMLResponse:
    """The API's chat, answered into the page; the conversation id rides in a hidden field."""
    fields = await _form_fields(request)
    message = fields.get("message", "")
    conversation_id = fields.get("conversation_id") or None
    try:
        asked = ChatIn(message=message, conversation_id=conversation_id)
    except ValidationError as exc:
        errors = exc.errors()
        problems = "; ".join(f"{e['loc'][-1]}: {e['msg']}" for e in errors)
        id_ok = not any(e["loc"][-1] == "conversation_id" for e in errors)
        return _chat_page(
            request,
            422,
            conversation_id=conversation_id if id_ok else None,
            message=message,
            problem=f"The question could not be asked ({problems}).",
        )
    try:
        answer = await chat_service.chat(session, asked.message, asked.conversation_id)
    except NotFound:
        problem = "That conversation has expired or never existed; ask again to start a new one."
        return _chat_page(request, 404, message=asked.message, problem=problem)
    conversation = await chat_service.get_conversation(session, answer.conversation_id)
    return _chat_page(
        request,
        conversation=conversation,
        answer=answer,
        conversation_id=answer.conversation_id,
    )
