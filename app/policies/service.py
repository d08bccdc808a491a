"""Reading policy items: filtered lists and the full record of one item."""

from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import (
    String,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.core.errors import NotFound
from app.core.pagination import encode_cursor
from app.policies.models import (
    Document,
    ItemInstitution,
    ItemRelation,
    ItemTheme,
    PolicyItem,
    SeriesLink,
    TimelineEvent,
)
from app.policies.schemas import (
    CITATION_FIELDS,
    ItemDetail,
    ItemPage,
    ItemSummary,
    StatusEntry,
    TimelineEntry,
    citations,
)
from app.tracking.models import ReviewState, StatusUpdate
from app.tracking.service import current_order


@dataclass(frozen=True)
class ItemFilters:
    kind: str | None = None
    status: str | None = None
    theme: str | None = None
    institution: str | None = None
    parent: str | None = None
    jurisdiction: str | None = None


async def document_titles(session: AsyncSession) -> dict[str, str]:
    return dict((await session.execute(select(Document.id, Document.title))).all())


async def get_item(session: AsyncSession, slug: str) -> PolicyItem:
    item = (await session.scalars(select(PolicyItem).where(PolicyItem.slug == slug))).first()
    if item is None:
        raise NotFound(f"no item with slug {slug!r}")
    return item


async def list_items(
    session: AsyncSession,
    filters: ItemFilters,
    *,
    limit: int,
    after: int | None = None,
    ranked: list[str] | None = None,
) -> ItemPage:
    """Items by id, or, with `ranked` (slugs, best first, from search), in that order; the
    cursor is then a position in the ranking."""
    if ranked is not None:
        query = select(PolicyItem).where(PolicyItem.slug.in_(ranked))
    else:
        query = select(PolicyItem).order_by(PolicyItem.id).limit(limit + 1)
    if after is not None and ranked is None:
        query = query.where(PolicyItem.id > after)
    if filters.kind:
        query = query.where(PolicyItem.kind == filters.kind)
    if filters.status:
        query = query.where(PolicyItem.status == filters.status)
    if filters.jurisdiction:
        query = query.where(PolicyItem.jurisdiction == filters.jurisdiction)
    if filters.theme:
        query = query.where(
            PolicyItem.id.in_(select(ItemTheme.item_id).where(ItemTheme.theme == filters.theme))
        )
    if filters.institution:
        name = filters.institution.lower()
        query = query.where(
            PolicyItem.id.in_(
                select(ItemInstitution.item_id).where(
                    func.lower(ItemInstitution.institution) == name
                )
            )
        )
    if filters.parent:
        parent = await get_item(session, filters.parent)
        query = query.where(PolicyItem.parent_id == parent.id)
    rows = list(await session.scalars(query))
    if ranked is not None:
        position = {slug: i for i, slug in enumerate(ranked)}
        rows.sort(key=lambda item: position[item.slug])
        start = after or 0
        page, more = rows[start : start + limit], len(rows) > start + limit
        summaries = await summarize(session, page)
        return ItemPage(items=summaries, next_cursor=encode_cursor(start + limit) if more else None)
    page, more = rows[:limit], len(rows) > limit
    summaries = await summarize(session, page)
    return ItemPage(items=summaries, next_cursor=encode_cursor(page[-1].id) if more else None)  # type: ignore[arg-type]


async def summarize(
    session: AsyncSession, items: list[PolicyItem], titles: dict[str, str] | None = None
) -> list[ItemSummary]:
    """Summaries for a page of items, with their sets fetched in one query each."""
    ids = [i.id for i in items]
    themes: dict[int, list[str]] = defaultdict(list)
    institutions: dict[int, list[str]] = defaultdict(list)
    for item_id, theme in await session.execute(
        select(ItemTheme.item_id, ItemTheme.theme).where(ItemTheme.item_id.in_(ids))
    ):
        themes[item_id].append(theme)
    for item_id, name in await session.execute(
        select(ItemInstitution.item_id, ItemInstitution.institution)
        .where(ItemInstitution.item_id.in_(ids))
        .order_by(ItemInstitution.position)
    ):
        institutions[item_id].append(name)
    parent_ids = {i.parent_id for i in items if i.parent_id}
    parents = dict(
        (
            await session.execute(
                select(PolicyItem.id, PolicyItem.slug).where(PolicyItem.id.in_(parent_ids))
            )
        ).all()
    )
    if titles is None:
        titles = await document_titles(session)
    return [
        ItemSummary(
            slug=i.slug,
            kind=i.kind,
            title=i.title,
            short_title=i.short_title,
            number=i.number,
            status=i.status,
            progress=i.progress,
            status_date=i.status_date,
            parent=parents.get(i.parent_id) if i.parent_id else None,
            jurisdiction=i.jurisdiction,
            themes=sorted(themes[i.id]),  # type: ignore[index]
            institutions=institutions[i.id],  # type: ignore[index]
            target_actors=i.target_actors,
            summary=i.summary,
            sources=citations(i.sources, titles),
            version=i.version,
        )
        for i in items
    ]


def status_entry(update: StatusUpdate, titles: dict[str, str]) -> StatusEntry:
    return StatusEntry(
        **update.model_dump(exclude={"evidence", "item_id", "origin", "seed_key"}),
        evidence=citations(update.evidence, titles),
    )


def timeline_entry(event: TimelineEvent, slug: str, titles: dict[str, str]) -> TimelineEntry:
    return TimelineEntry(
        id=event.id,  # type: ignore[arg-type]
        item=slug,
        date=event.event_date,
        date_precision=event.date_precision,
        type=event.type,
        description=event.description,
        sources=citations(event.sources, titles),
    )


async def item_detail(
    session: AsyncSession, item: PolicyItem, *, show_pending: bool = False
) -> ItemDetail:
    """The full record of an item, for the pages and the chat (typed)."""
    connection = await session.connection()
    detail = await connection.run_sync(read_item_detail, item.slug, show_pending)
    return ItemDetail.model_validate(detail)


_items = PolicyItem.__table__
_updates = StatusUpdate.__table__
_events = TimelineEvent.__table__
_HISTORY_COLUMNS = [
    _updates.c[name]
    for name in (
        "id", "status", "progress", "note", "jurisdiction", "effective_date",
        "effective_precision", "recorded_at", "author", "review_state", "reviewed_by",
        "reviewed_at", "review_reason", "evidence",
    )
]  # fmt: skip


def _cite(raw: list[dict[str, Any]], titles: dict[str, str]) -> list[dict[str, Any]]:
    """Citations as `Citation` serializes them: every field, in its order."""
    return [
        {
            **{name: c.get(name) for name in CITATION_FIELDS},
            "document": titles.get(c.get("doc", "")),
        }
        for c in raw
    ]


def _item_sets_statement():  # type: ignore[no-untyped-def]
    """Themes, institutions, children, related items and document titles in one statement:
    rows of (set, a, b, c, d, position)."""
    item_id, text_null = bindparam("item_id"), cast(null(), String)
    other, related, referrer = _items.alias(), ItemRelation.__table__, aliased(ItemRelation)
    themes, institutions, documents = (
        ItemTheme.__table__,
        ItemInstitution.__table__,
        Document.__table__,
    )

    def refs(name: str):  # type: ignore[no-untyped-def]
        return select(
            literal_column(f"'{name}'"),
            other.c.slug,
            other.c.kind,
            other.c.title,
            other.c.status,
            other.c.id,
        )

    return union_all(
        select(
            literal_column("'theme'"), themes.c.theme, text_null, text_null, text_null, literal(0)
        ).where(themes.c.item_id == item_id),
        select(
            literal_column("'institution'"),
            institutions.c.institution,
            text_null,
            text_null,
            text_null,
            institutions.c.position,
        ).where(institutions.c.item_id == item_id),
        refs("child").where(other.c.parent_id == item_id),
        refs("related")
        .join_from(other, related, related.c.related_id == other.c.id)
        .where(related.c.item_id == item_id),
        refs("related_by")
        .join_from(other, referrer, referrer.item_id == other.c.id)
        .where(referrer.related_id == item_id),
        select(
            literal_column("'document'"),
            documents.c.id,
            documents.c.title,
            text_null,
            text_null,
            literal(0),
        ),
    )


# Built once: composing a statement costs more than running it on SQLite.
_parent = _items.alias()
_ITEM = (
    select(_items, _parent.c.slug.label("parent_slug"))
    .outerjoin(_parent, _parent.c.id == _items.c.parent_id)
    .where(_items.c.slug == bindparam("slug"))
)
_ITEM_SETS = _item_sets_statement()
_HISTORY = (
    select(*_HISTORY_COLUMNS)
    .where(
        _updates.c.item_id == bindparam("item_id"),
        _updates.c.review_state.in_(bindparam("visible", expanding=True)),
    )
    .order_by(*current_order())
)
_TIMELINE = (
    select(
        _events.c.id,
        _events.c.event_date,
        _events.c.date_precision,
        _events.c.type,
        _events.c.description,
        _events.c.sources,
    )
    .where(
        _events.c.item_id == bindparam("item_id"),
        _events.c.review_state.in_(bindparam("visible", expanding=True)),
    )
    .order_by(_events.c.event_date, _events.c.position, _events.c.id)
)
_LINKS = (
    select(SeriesLink.__table__)
    .where(SeriesLink.__table__.c.item_id == bindparam("item_id"))
    .order_by(SeriesLink.__table__.c.id)
)
PUBLIC_STATES = [ReviewState.APPROVED.value, ReviewState.REJECTED.value]
REVIEWER_STATES = [*PUBLIC_STATES, ReviewState.PENDING.value]


def read_item_detail(
    connection: Connection, slug: str, show_pending: bool = False
) -> dict[str, Any] | None:
    """An item's full record as plain data (the `ItemDetail` shape), in five statements, or
    None if there is no such item. Synchronous Core, so it runs on either engine's connection
    (`app.core.db.run_read`, or `AsyncConnection.run_sync`)."""
    item = connection.execute(_ITEM, {"slug": slug}).mappings().first()
    if item is None:
        return None
    key = {"item_id": item["id"]}
    sets: dict[str, list[Any]] = defaultdict(list)
    titles: dict[str, str] = {}
    for name, a, b, c, d, position in connection.execute(_ITEM_SETS, key):
        if name == "document":
            titles[a] = b
        elif name in ("theme", "institution"):
            sets[name].append((position, a))
        else:
            sets[name].append((position, {"slug": a, "kind": b, "title": c, "status": d}))
    visible = {**key, "visible": REVIEWER_STATES if show_pending else PUBLIC_STATES}
    history = [
        {**row, "evidence": _cite(row["evidence"], titles)}
        for row in connection.execute(_HISTORY, visible).mappings()
    ]
    by_jurisdiction: dict[str, dict[str, Any]] = {}
    for entry in history:  # newest first: the first approved one per jurisdiction is current
        if entry["jurisdiction"] and entry["review_state"] == ReviewState.APPROVED.value:
            by_jurisdiction.setdefault(entry["jurisdiction"], entry)
    timeline = [
        {
            "id": event.id,
            "item": slug,
            "item_title": None,
            "item_kind": None,
            "date": event.event_date,
            "date_precision": event.date_precision,
            "type": event.type,
            "description": event.description,
            "sources": _cite(event.sources, titles),
        }
        for event in connection.execute(_TIMELINE, visible)
    ]
    links = connection.execute(_LINKS, key)

    def ordered(name: str) -> list[Any]:
        return [value for _, value in sorted(sets[name], key=lambda pair: pair[0])]

    return {
        "slug": item["slug"],
        "kind": item["kind"],
        "title": item["title"],
        "short_title": item["short_title"],
        "number": item["number"],
        "status": item["status"],
        "progress": item["progress"],
        "status_date": item["status_date"],
        "parent": item["parent_slug"],
        "jurisdiction": item["jurisdiction"],
        "themes": sorted(theme for _, theme in sets["theme"]),
        "institutions": ordered("institution"),
        "target_actors": item["target_actors"],
        "summary": item["summary"],
        "sources": _cite(item["sources"], titles),
        "version": item["version"],
        "aliases": item["aliases"],
        "start_date": item["start_date"],
        "start_precision": item["start_precision"],
        "end_date": item["end_date"],
        "end_precision": item["end_precision"],
        "target_date": item["target_date"],
        "status_by_jurisdiction": by_jurisdiction,
        "history": history,
        "timeline": timeline,
        "children": ordered("child"),
        "related": ordered("related"),
        "related_by": ordered("related_by"),
        "links": [_link(link) for link in links],  # type: ignore[arg-type]
        "created_at": item["created_at"],
        "updated_at": item["updated_at"],
    }


def _link(link: SeriesLink) -> dict[str, Any]:
    query = {"metric": link.metric, **link.dimensions}
    if link.table_label:
        query["table"] = link.table_label
    if link.statistics_id:
        query["statistics"] = link.statistics_id
    return {
        "metric": link.metric,
        "dimensions": link.dimensions,
        "table": link.table_label,
        "statistics": link.statistics_id,
        "rationale": link.rationale,
        "stats_url": f"/api/v1/stats?{urlencode(query)}",
        "trend_url": f"/api/v1/trends?{urlencode(query)}",
    }
