"""Progress summaries and change lists, computed from items' denormalized status.

The current summary reads only the items (a few hundred rows), never the status history, so
its cost does not grow with history. `as_of` reads the history once through the
(item, state, effective date) index with a window function. Results are cached per state of
the tracker: every write appends to the audit chain, so its last id is a change token.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import ColumnElement, ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from app.policies.models import ItemInstitution, ItemTheme, PolicyItem, TimelineEvent
from app.policies.schemas import ItemRef
from app.policies.vocabulary import ItemKind
from app.reports.schemas import (
    Breakdown,
    ChangeCounts,
    Changes,
    ClauseProgress,
    DatedRef,
    NewEvent,
    NewItem,
    SectionProgress,
    StatusChange,
    Summary,
)
from app.tracking.models import ReviewState, StatusUpdate
from app.tracking.status import Status

FINISHED = {Status.IMPLEMENTED.value, Status.LAPSED.value, Status.ABANDONED.value}


@dataclass(frozen=True)
class CachedSummary:
    model: Summary
    json: bytes


_CACHE: dict[tuple[object, ...], CachedSummary] = {}
_CACHE_SIZE = 256


@dataclass
class _Item:
    id: int
    slug: str
    kind: str
    title: str
    number: str | None
    parent_id: int | None
    status: str
    target_date: date | None
    last_approved: date | None


def breakdown(statuses: Iterable[str]) -> Breakdown:
    counts = Counter(statuses)
    total = sum(counts.values())
    full, partial = counts[Status.IMPLEMENTED.value], counts[Status.PARTIALLY_IMPLEMENTED.value]
    return Breakdown(
        total=total,
        by_status={s.value: counts[s.value] for s in Status},
        implemented=full,
        partially_implemented=partial,
        share_implemented=round(full / total, 4) if total else 0.0,
        share_partially_implemented=round(partial / total, 4) if total else 0.0,
    )


async def change_token(session: AsyncSession) -> int:
    return await session.scalar(select(func.max(AuditEntry.id))) or 0


async def _items(session: AsyncSession, as_of: date | None) -> list[_Item]:
    rows = (
        await session.execute(
            select(
                PolicyItem.id,
                PolicyItem.slug,
                PolicyItem.kind,
                PolicyItem.title,
                PolicyItem.number,
                PolicyItem.parent_id,
                PolicyItem.status,
                PolicyItem.target_date,
                PolicyItem.last_approved_at,
            ).order_by(PolicyItem.id)
        )
    ).all()
    items = [
        _Item(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8].date() if r[8] else None)
        for r in rows
    ]
    if as_of is None:
        return items
    historic = await statuses_as_of(session, as_of)
    for item in items:
        item.status, item.last_approved = historic.get(item.id, (Status.UNKNOWN.value, None))
    return items


async def statuses_as_of(session: AsyncSession, as_of: date) -> dict[int, tuple[str, date | None]]:
    """Each item's overall status on `as_of`, from the approved history.

    Two correlated seeks per item on ix_status_update_item_latest (the latest unscoped update,
    else the latest scoped one), so the cost follows the number of items, not of updates.
    """

    def latest(*extra: ColumnElement[bool]) -> ScalarSelect[int]:
        return (
            select(StatusUpdate.id)
            .where(
                StatusUpdate.item_id == PolicyItem.id,
                StatusUpdate.review_state == ReviewState.APPROVED,
                StatusUpdate.effective_date <= as_of,
                *extra,
            )
            .order_by(
                StatusUpdate.effective_date.desc(),
                StatusUpdate.recorded_at.desc(),
                StatusUpdate.id.desc(),
            )
            .limit(1)
            .correlate(PolicyItem)
            .scalar_subquery()
        )

    chosen = select(
        PolicyItem.id.label("item_id"),
        func.coalesce(latest(StatusUpdate.jurisdiction.is_(None)), latest()).label("update_id"),
    ).subquery()
    rows = await session.execute(
        select(chosen.c.item_id, StatusUpdate.status, StatusUpdate.effective_date).join(
            StatusUpdate, StatusUpdate.id == chosen.c.update_id
        )
    )
    return {item_id: (status, effective) for item_id, status, effective in rows}


def _ref(item: _Item) -> ItemRef:
    return ItemRef(slug=item.slug, kind=item.kind, title=item.title, status=item.status)


def _section_of(item: _Item, by_id: dict[int, _Item]) -> _Item | None:
    seen = 0
    while item.parent_id and seen < 10:
        item = by_id[item.parent_id]
        if item.kind == ItemKind.REPORT_SECTION:
            return item
        seen += 1
    return None


async def summary(
    session: AsyncSession,
    *,
    as_of: date | None = None,
    since: date | None = None,
    stale_days: int = 365,
) -> CachedSummary:
    """The summary, computed once per state of the tracker and kept with its JSON encoding."""
    # Keyed on the database too: one process may serve several (tests, a restore elsewhere).
    database = session.bind.url.render_as_string(hide_password=True) if session.bind else None
    key = (database, await change_token(session), as_of, since, stale_days, date.today())
    if key not in _CACHE:
        result = await _compute(session, as_of=as_of, since=since, stale_days=stale_days)
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.clear()
        _CACHE[key] = CachedSummary(result, result.model_dump_json().encode())
    return _CACHE[key]


async def _compute(
    session: AsyncSession, *, as_of: date | None, since: date | None, stale_days: int
) -> Summary:
    day = as_of or datetime.now(UTC).date()
    items = await _items(session, as_of)
    by_id = {i.id: i for i in items}
    institutions: dict[str, list[str]] = defaultdict(list)
    for item_id, name in await session.execute(
        select(ItemInstitution.item_id, ItemInstitution.institution)
    ):
        institutions[name].append(by_id[item_id].status)
    themes: dict[str, list[str]] = defaultdict(list)
    for item_id, theme in await session.execute(select(ItemTheme.item_id, ItemTheme.theme)):
        themes[theme].append(by_id[item_id].status)
    kinds: dict[str, list[str]] = defaultdict(list)
    sections: dict[int, list[str]] = defaultdict(list)
    for item in items:
        kinds[item.kind].append(item.status)
        if item.kind == ItemKind.RECOMMENDATION and (section := _section_of(item, by_id)):
            sections[section.id].append(item.status)
    overall = breakdown(i.status for i in items)
    # Clamped: an as_of less than stale_days after 1 January of year 1 would overflow (a 500).
    stale_before = max(day, date.min + timedelta(days=stale_days)) - timedelta(days=stale_days)
    return Summary(
        as_of=day,
        total=overall.total,
        by_status=overall.by_status,
        implemented=overall.implemented,
        partially_implemented=overall.partially_implemented,
        share_implemented=overall.share_implemented,
        share_partially_implemented=overall.share_partially_implemented,
        by_kind={kind: breakdown(statuses) for kind, statuses in sorted(kinds.items())},
        nap_clauses=sorted(
            (
                ClauseProgress(slug=i.slug, number=i.number, title=i.title, status=i.status)
                for i in items
                if i.kind == ItemKind.NAP_CLAUSE
            ),
            key=lambda c: int(c.number) if c.number and c.number.isdigit() else 99,
        ),
        by_recommendation_section=[
            SectionProgress(
                slug=by_id[sid].slug, title=by_id[sid].title, **breakdown(statuses).model_dump()
            )
            for sid, statuses in sorted(sections.items(), key=lambda kv: by_id[kv[0]].number or "")
        ],
        by_institution={name: breakdown(s) for name, s in sorted(institutions.items())},
        by_theme={theme: breakdown(s) for theme, s in sorted(themes.items())},
        stalled=[_ref(i) for i in items if i.status == Status.STALLED],
        past_target_date=[
            DatedRef(**_ref(i).model_dump(), date=i.target_date)
            for i in items
            if i.target_date and i.target_date < day and i.status not in FINISHED
        ],
        stale_after_days=stale_days,
        stale=[
            DatedRef(**_ref(i).model_dump(), date=i.last_approved)
            for i in items
            if i.status not in FINISHED
            and (i.last_approved is None or i.last_approved < stale_before)
        ],
        changes=await change_counts(session, since) if since else None,
    )


def _since(since: date) -> datetime:
    return datetime(since.year, since.month, since.day, tzinfo=UTC)


async def change_counts(session: AsyncSession, since: date) -> ChangeCounts:
    changes = await list_changes(session, since)
    return ChangeCounts(
        since=since,
        status_changes=len(changes.status_changes),
        new_events=len(changes.new_events),
        new_items=len(changes.new_items),
    )


async def list_changes(session: AsyncSession, since: date, limit: int = 500) -> Changes:
    """What the tracker recorded since a date: approved status changes, events, new items."""
    start = _since(since)
    updates = await session.execute(
        select(StatusUpdate, PolicyItem.slug, PolicyItem.title)
        .join(PolicyItem, PolicyItem.id == StatusUpdate.item_id)
        .where(
            StatusUpdate.review_state == ReviewState.APPROVED,
            StatusUpdate.origin != "seed",
            StatusUpdate.reviewed_at >= start,
        )
        .order_by(StatusUpdate.reviewed_at.desc())
        .limit(limit)
    )
    events = await session.execute(
        select(TimelineEvent, PolicyItem.slug)
        .join(PolicyItem, PolicyItem.id == TimelineEvent.item_id)
        .where(
            TimelineEvent.review_state == ReviewState.APPROVED,
            TimelineEvent.origin == "api",
            TimelineEvent.created_at >= start,
        )
        .order_by(TimelineEvent.created_at.desc())
        .limit(limit)
    )
    new_items = await session.scalars(
        select(PolicyItem)
        .where(PolicyItem.origin == "api", PolicyItem.created_at >= start)
        .order_by(PolicyItem.created_at.desc())
        .limit(limit)
    )
    return Changes(
        since=since,
        status_changes=[
            StatusChange(
                item=slug,
                title=title,
                status=u.status,
                jurisdiction=u.jurisdiction,
                effective_date=u.effective_date,
                approved_at=u.reviewed_at.isoformat() if u.reviewed_at else "",
                note=u.note,
            )
            for u, slug, title in updates
        ],
        new_events=[
            NewEvent(
                item=slug,
                date=e.event_date,
                type=e.type,
                description=e.description,
                recorded_at=e.created_at.isoformat(),
            )
            for e, slug in events
        ],
        new_items=[
            NewItem(slug=i.slug, kind=i.kind, title=i.title, created_at=i.created_at.isoformat())
            for i in new_items
        ],
    )
