"""Reading policy items: filtered lists and the full record of one item."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson
from sqlalchemy import JSON, Table, Text, bindparam, cast, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import NotFound
from app.core.pagination import encode_cursor
from app.core.sqljson import as_json, record, records
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
    citations,
)
from app.tracking.models import ReviewState, StatusUpdate


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


async def item_detail(
    session: AsyncSession, item: PolicyItem, *, show_pending: bool = False
) -> ItemDetail:
    """The full record of an item, for the pages and the chat (typed)."""
    connection = await session.connection()
    detail = await connection.run_sync(read_item_detail, item.slug, show_pending)
    return ItemDetail.model_validate(detail)


_items = PolicyItem.__table__
PUBLIC_STATES = [ReviewState.APPROVED.value, ReviewState.REJECTED.value]
REVIEWER_STATES = [*PUBLIC_STATES, ReviewState.PENDING.value]


STATUS_ENTRY_FIELDS = (
    "id", "status", "progress", "note", "jurisdiction", "effective_date", "effective_precision",
    "recorded_at", "author", "review_state", "reviewed_by", "reviewed_at", "review_reason",
    "evidence",
)  # fmt: skip


def _columns(table: Table, *names: str) -> dict[str, Any]:
    """Columns by name for `sqljson.record`, JSON columns marked so they nest as JSON."""
    chosen = names or [c.name for c in table.c]
    return {
        name: as_json(table.c[name]) if isinstance(table.c[name].type, JSON) else table.c[name]
        for name in chosen
    }


def _detail_statement():  # type: ignore[no-untyped-def]
    """An item's whole record as one JSON value built by the database: one statement."""
    item, parent, other = _items, _items.alias("parent_item"), _items.alias("other_item")
    themes, institutions = ItemTheme.__table__, ItemInstitution.__table__
    related, referrer = ItemRelation.__table__, ItemRelation.__table__.alias("referrer")
    updates, events, links = StatusUpdate.__table__, TimelineEvent.__table__, SeriesLink.__table__
    visible = bindparam("visible", expanding=True)
    ref = record(**_columns(other, "id", "slug", "kind", "title", "status"))
    return (
        select(
            cast(  # as text on both engines: the driver would otherwise decode PostgreSQL's json
                record(
                    item=record(**_columns(item)),
                    parent=parent.c.slug,
                    themes=records(
                        select(record(name=themes.c.theme)).where(themes.c.item_id == item.c.id)
                    ),
                    institutions=records(
                        select(record(**_columns(institutions, "institution", "position"))).where(
                            institutions.c.item_id == item.c.id
                        )
                    ),
                    children=records(select(ref).where(other.c.parent_id == item.c.id)),
                    related=records(
                        select(ref)
                        .join_from(other, related, related.c.related_id == other.c.id)
                        .where(related.c.item_id == item.c.id)
                    ),
                    related_by=records(
                        select(ref)
                        .join_from(other, referrer, referrer.c.item_id == other.c.id)
                        .where(referrer.c.related_id == item.c.id)
                    ),
                    history=records(
                        select(record(**_columns(updates, *STATUS_ENTRY_FIELDS))).where(
                            updates.c.item_id == item.c.id, updates.c.review_state.in_(visible)
                        )
                    ),
                    timeline=records(
                        select(
                            record(
                                **_columns(
                                    events,
                                    "id",
                                    "event_date",
                                    "date_precision",
                                    "type",
                                    "description",
                                    "sources",
                                    "position",
                                )
                            )
                        ).where(events.c.item_id == item.c.id, events.c.review_state.in_(visible))
                    ),
                    links=records(
                        select(record(**_columns(links))).where(links.c.item_id == item.c.id)
                    ),
                    documents=records(
                        select(record(**_columns(Document.__table__, "id", "title")))
                    ),
                ),
                Text,
            )
        )
        .select_from(item.outerjoin(parent, parent.c.id == item.c.parent_id))
        .where(item.c.slug == bindparam("slug"))
    )


_DETAIL = _detail_statement()  # built once: composing a statement costs more than running it


def _moment(value: str | None) -> datetime | None:
    """A timestamp as either engine writes it into JSON, as an aware UTC datetime."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _cite(raw: list[dict[str, Any]], titles: dict[str, str]) -> list[dict[str, Any]]:
    """Citations as `Citation` serializes them: every field, in its order."""
    return [
        {
            **{name: c.get(name) for name in CITATION_FIELDS},
            "document": titles.get(c.get("doc", "")),
        }
        for c in raw
    ]


def read_item_detail(
    connection: Connection, slug: str, show_pending: bool = False
) -> dict[str, Any] | None:
    """An item's full record as plain data (the `ItemDetail` shape), or None if there is no
    such item. Synchronous Core, so it runs on either engine's connection
    (`app.core.db.run_read`, or `AsyncConnection.run_sync`)."""
    raw = connection.execute(
        _DETAIL, {"slug": slug, "visible": REVIEWER_STATES if show_pending else PUBLIC_STATES}
    ).scalar()
    if raw is None:
        return None
    found = orjson.loads(raw)
    item = found["item"]
    titles = {document["id"]: document["title"] for document in found["documents"]}
    history = []
    for update in found["history"]:
        update["recorded_at"] = _moment(update["recorded_at"])
        update["reviewed_at"] = _moment(update["reviewed_at"])
        update["evidence"] = _cite(update["evidence"], titles)
        history.append({name: update[name] for name in STATUS_ENTRY_FIELDS})
    history.sort(key=lambda u: (u["effective_date"], u["recorded_at"], u["id"]), reverse=True)
    by_jurisdiction: dict[str, dict[str, Any]] = {}
    for entry in history:  # newest first: the first approved one per jurisdiction is current
        if entry["jurisdiction"] and entry["review_state"] == ReviewState.APPROVED.value:
            by_jurisdiction.setdefault(entry["jurisdiction"], entry)
    events = sorted(found["timeline"], key=lambda e: (e["event_date"], e["position"], e["id"]))

    def refs(name: str) -> list[dict[str, Any]]:
        ordered = sorted(found[name], key=lambda ref: ref["id"])
        return [{key: ref[key] for key in ("slug", "kind", "title", "status")} for ref in ordered]

    return {
        "slug": item["slug"],
        "kind": item["kind"],
        "title": item["title"],
        "short_title": item["short_title"],
        "number": item["number"],
        "status": item["status"],
        "progress": item["progress"],
        "status_date": item["status_date"],
        "parent": found["parent"],
        "jurisdiction": item["jurisdiction"],
        "themes": sorted(theme["name"] for theme in found["themes"]),
        "institutions": [
            i["institution"] for i in sorted(found["institutions"], key=lambda i: i["position"])
        ],
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
        "timeline": [
            {
                "id": event["id"],
                "item": slug,
                "item_title": None,
                "item_kind": None,
                "date": event["event_date"],
                "date_precision": event["date_precision"],
                "type": event["type"],
                "description": event["description"],
                "sources": _cite(event["sources"], titles),
            }
            for event in events
        ],
        "children": refs("children"),
        "related": refs("related"),
        "related_by": refs("related_by"),
        "links": [_link(link) for link in sorted(found["links"], key=lambda link: link["id"])],
        "created_at": _moment(item["created_at"]),
        "updated_at": _moment(item["updated_at"]),
    }


def _link(link: dict[str, Any]) -> dict[str, Any]:
    query = {"metric": link["metric"], **link["dimensions"]}
    if link["table_label"]:
        query["table"] = link["table_label"]
    if link["statistics_id"]:
        query["statistics"] = link["statistics_id"]
    return {
        "metric": link["metric"],
        "dimensions": link["dimensions"],
        "table": link["table_label"],
        "statistics": link["statistics_id"],
        "rationale": link["rationale"],
        "stats_url": f"/api/v1/stats?{urlencode(query)}",
        "trend_url": f"/api/v1/trends?{urlencode(query)}",
    }
