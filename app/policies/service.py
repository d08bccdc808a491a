"""Reading policy items: filtered lists and the full record of one item."""

from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import func, select
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
    ItemDetail,
    ItemPage,
    ItemRef,
    ItemSummary,
    SeriesLinkOut,
    StatusEntry,
    TimelineEntry,
    citations,
)
from app.tracking.models import ReviewState, StatusUpdate
from app.tracking.service import current_order, statuses_by_jurisdiction


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


def _ref(item: PolicyItem) -> ItemRef:
    return ItemRef(slug=item.slug, kind=item.kind, title=item.title, status=item.status)


async def item_detail(
    session: AsyncSession, item: PolicyItem, *, show_pending: bool = False
) -> ItemDetail:
    titles = await document_titles(session)
    (summary,) = await summarize(session, [item], titles)
    visible = [ReviewState.APPROVED.value, ReviewState.REJECTED.value]
    if show_pending:
        visible.append(ReviewState.PENDING.value)
    history = await session.scalars(
        select(StatusUpdate)
        .where(StatusUpdate.item_id == item.id, StatusUpdate.review_state.in_(visible))
        .order_by(*current_order())
    )
    events = await session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.item_id == item.id, TimelineEvent.review_state.in_(visible))
        .order_by(TimelineEvent.event_date, TimelineEvent.position, TimelineEvent.id)
    )
    children = await session.scalars(
        select(PolicyItem).where(PolicyItem.parent_id == item.id).order_by(PolicyItem.id)
    )
    related = await session.scalars(
        select(PolicyItem)
        .join(ItemRelation, ItemRelation.related_id == PolicyItem.id)
        .where(ItemRelation.item_id == item.id)
        .order_by(PolicyItem.id)
    )
    referrer = aliased(ItemRelation)
    related_by = await session.scalars(
        select(PolicyItem)
        .join(referrer, referrer.item_id == PolicyItem.id)
        .where(referrer.related_id == item.id)
        .order_by(PolicyItem.id)
    )
    links = await session.scalars(
        select(SeriesLink).where(SeriesLink.item_id == item.id).order_by(SeriesLink.id)
    )
    by_jurisdiction = await statuses_by_jurisdiction(session, item.id)  # type: ignore[arg-type]
    return ItemDetail(
        **summary.model_dump(),
        aliases=item.aliases,
        start_date=item.start_date,
        start_precision=item.start_precision,
        end_date=item.end_date,
        end_precision=item.end_precision,
        target_date=item.target_date,
        status_by_jurisdiction={k: status_entry(v, titles) for k, v in by_jurisdiction.items()},
        history=[status_entry(u, titles) for u in history],
        timeline=[timeline_entry(e, item.slug, titles) for e in events],
        children=[_ref(c) for c in children],
        related=[_ref(r) for r in related],
        related_by=[_ref(r) for r in related_by],
        links=[_link(link) for link in links],
        created_at=item.created_at,
        updated_at=item.updated_at,
    )


def _link(link: SeriesLink) -> SeriesLinkOut:
    query = {"metric": link.metric, **link.dimensions}
    if link.table_label:
        query["table"] = link.table_label
    if link.statistics_id:
        query["statistics"] = link.statistics_id
    return SeriesLinkOut(
        metric=link.metric,
        dimensions=link.dimensions,
        table=link.table_label,
        statistics=link.statistics_id,
        rationale=link.rationale,
        stats_url=f"/api/v1/stats?{urlencode(query)}",
        trend_url=f"/api/v1/trends?{urlencode(query)}",
    )
