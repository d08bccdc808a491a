"""One chronological stream of dated events across items, filterable like the item list."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import BadRequest
from app.core.pagination import decode_keyset, encode_keyset
from app.policies.models import ItemInstitution, ItemTheme, PolicyItem, TimelineEvent
from app.policies.schemas import TimelineEntry, citations
from app.policies.service import document_titles, get_item
from app.tracking.models import ReviewState


@dataclass(frozen=True)
class TimelineFilters:
    item: str | None = None
    kind: str | None = None
    theme: str | None = None
    institution: str | None = None
    type: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    newest_first: bool = False


@dataclass
class TimelinePage:
    events: list[TimelineEntry]
    next_cursor: str | None


async def descendant_ids(session: AsyncSession, root_id: int) -> list[int]:
    """The item and everything beneath it (clauses, recommendations and their sub-points)."""
    found, frontier = [root_id], [root_id]
    while frontier:
        frontier = list(
            await session.scalars(select(PolicyItem.id).where(PolicyItem.parent_id.in_(frontier)))
        )
        found += frontier
    return found


async def list_events(
    session: AsyncSession, filters: TimelineFilters, *, limit: int, cursor: str | None = None
) -> TimelinePage:
    query = (
        select(TimelineEvent, PolicyItem.slug, PolicyItem.title, PolicyItem.kind)
        .join(PolicyItem, PolicyItem.id == TimelineEvent.item_id)
        .where(TimelineEvent.review_state == ReviewState.APPROVED)
    )
    if filters.item:
        root = await get_item(session, filters.item)
        query = query.where(TimelineEvent.item_id.in_(await descendant_ids(session, root.id)))  # type: ignore[arg-type]
    if filters.kind:
        query = query.where(PolicyItem.kind == filters.kind)
    if filters.type:
        query = query.where(TimelineEvent.type == filters.type)
    if filters.theme:
        query = query.where(
            TimelineEvent.item_id.in_(
                select(ItemTheme.item_id).where(ItemTheme.theme == filters.theme)
            )
        )
    if filters.institution:
        name = filters.institution.lower()
        query = query.where(
            TimelineEvent.item_id.in_(
                select(ItemInstitution.item_id).where(
                    func.lower(ItemInstitution.institution) == name
                )
            )
        )
    if filters.date_from:
        query = query.where(TimelineEvent.event_date >= filters.date_from)
    if filters.date_to:
        query = query.where(TimelineEvent.event_date <= filters.date_to)
    after = decode_keyset(cursor, 2)
    if after:
        # decode_keyset checked the cursor's shape; a forged one may still hold other values.
        if not isinstance(after[1], int):
            raise BadRequest(f"cursor {cursor!r} is not one this API issued")
        try:
            after_date, after_id = date.fromisoformat(str(after[0])), after[1]
        except ValueError as exc:
            raise BadRequest(f"cursor {cursor!r} is not one this API issued") from exc
        if filters.newest_first:
            query = query.where(
                or_(
                    TimelineEvent.event_date < after_date,
                    and_(TimelineEvent.event_date == after_date, TimelineEvent.id < after_id),
                )
            )
        else:
            query = query.where(
                or_(
                    TimelineEvent.event_date > after_date,
                    and_(TimelineEvent.event_date == after_date, TimelineEvent.id > after_id),
                )
            )
    order = (
        (TimelineEvent.event_date.desc(), TimelineEvent.id.desc())
        if filters.newest_first
        else (TimelineEvent.event_date, TimelineEvent.id)
    )
    rows = (await session.execute(query.order_by(*order).limit(limit + 1))).all()
    page, more = rows[:limit], len(rows) > limit
    titles = await document_titles(session)
    events = [
        TimelineEntry(
            id=event.id,  # type: ignore[arg-type]
            item=slug,
            item_title=title,
            item_kind=kind,
            date=event.event_date,
            date_precision=event.date_precision,
            type=event.type,
            description=event.description,
            sources=citations(event.sources, titles),
        )
        for event, slug, title, kind in page
    ]
    last = page[-1][0] if page else None
    next_cursor = encode_keyset([last.event_date.isoformat(), last.id]) if more and last else None  # type: ignore[list-item]
    return TimelinePage(events=events, next_cursor=next_cursor)
