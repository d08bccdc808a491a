"""Building the search index and keeping it in step with every write, in the same transaction.

Every write to an item (create, edit, status approval, event approval, correction) appends an
audit entry naming the item; a session listener collects those items as the entries are
flushed and re-indexes them just before the transaction commits, so the index can never show
what the database does not hold, or miss what it does. The seed rebuilds the whole index.

The functions here take a synchronous Session: the listener runs inside SQLAlchemy's commit,
and async callers use `AsyncSession.run_sync`. Index text is folded (case, diacritics) here,
once, so both engines see the same words.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import delete, event, insert, select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.core.db import transaction_memo
from app.incidents.models import MilitantGroup, Place, StatisticsTable
from app.policies.models import Institution, ItemInstitution, ItemTheme, PolicyItem, TimelineEvent
from app.search.models import SearchEntry
from app.search.query import strip_diacritics
from app.tracking.models import ReviewState, StatusUpdate

API = "/api/v1"
PENDING_ITEMS = "search_items_to_index"
INDEX_STATE = "search_index_state"  # the service's reading of the index, in transaction_memo


def _join(*parts: Any) -> str:
    """One field's text, a line per part (names are compared line by line)."""
    return strip_diacritics("\n".join(str(p) for p in parts if p))


MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def _written(day: date, precision: str) -> str:
    if precision == "year":
        return str(day.year)
    if precision == "month":
        return f"{MONTHS[day.month - 1]} {day.year}"
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _label(value: str) -> str:
    return value.replace("_", " ")


def _item_entries(session: Session, items: list[PolicyItem]) -> list[dict[str, Any]]:
    ids = [i.id for i in items]
    themes: dict[int, list[str]] = defaultdict(list)
    institutions: dict[int, list[str]] = defaultdict(list)
    notes: dict[int, list[str]] = defaultdict(list)
    for item_id, theme in session.execute(
        select(ItemTheme.item_id, ItemTheme.theme).where(ItemTheme.item_id.in_(ids))
    ):
        themes[item_id].append(_label(theme))
    for item_id, name in session.execute(
        select(ItemInstitution.item_id, ItemInstitution.institution).where(
            ItemInstitution.item_id.in_(ids)
        )
    ):
        institutions[item_id].append(name)
    for item_id, note in session.execute(
        select(StatusUpdate.item_id, StatusUpdate.note)
        .where(StatusUpdate.item_id.in_(ids), StatusUpdate.review_state == ReviewState.APPROVED)
        .order_by(StatusUpdate.id)
    ):
        notes[item_id].append(note)
    # A recommendation is found by its section's words too ("the section on the TTP threat").
    parent_ids = {i.parent_id for i in items if i.parent_id}
    parents = dict(
        session.execute(
            select(PolicyItem.id, PolicyItem.title).where(PolicyItem.id.in_(parent_ids))
        ).all()
    )
    # An institution tracked by an item is searched as that item, under all its names.
    tracked: dict[str, list[str]] = defaultdict(list)
    for name, aliases, slug in session.execute(
        select(Institution.name, Institution.aliases, Institution.item_slug).where(
            Institution.item_slug.in_([i.slug for i in items])
        )
    ):
        tracked[slug] += [name, *aliases]
    entries = []
    for item in items:
        number = f"point {item.number} clause {item.number}" if item.number else ""
        entries.append(
            {
                "type": "item",
                "key": item.slug,
                "item_slug": item.slug,
                "title": item.title,
                "url": f"{API}/items/{item.slug}",
                "names": _join(
                    item.title, item.short_title, *item.aliases, *tracked[item.slug], number
                ),
                "tags": _join(
                    _label(item.kind),
                    *themes[item.id],
                    *institutions[item.id],
                    item.slug,
                    parents.get(item.parent_id),  # type: ignore[arg-type]
                ),
                "body": _join(item.summary, *notes[item.id]),  # type: ignore[index]
            }
        )
    return entries


def _event_entries(session: Session, items: list[PolicyItem]) -> list[dict[str, Any]]:
    by_id = {i.id: i for i in items}
    events = session.scalars(
        select(TimelineEvent)
        .where(
            TimelineEvent.item_id.in_(list(by_id)),
            TimelineEvent.review_state == ReviewState.APPROVED,
        )
        .order_by(TimelineEvent.id)
    )
    entries = []
    for ev in events:
        item = by_id[ev.item_id]
        name = item.short_title or item.title
        entries.append(
            {
                "type": "event",
                "key": str(ev.id),
                "item_slug": item.slug,
                "title": f"{name}: {_label(ev.type)}, {_written(ev.event_date, ev.date_precision)}",
                "url": f"{API}/items/{item.slug}/timeline",
                # The item's name is context for an event, not its name: an event should not
                # outrank its item on the item's own title.
                "names": "",
                "tags": _join(name, _label(ev.type), ev.event_date.year),
                # The date leads the text, so "when" finds it in the same sentence.
                "body": _join(f"{_written(ev.event_date, ev.date_precision)}: {ev.description}"),
            }
        )
    return entries


def _entity_entries(session: Session) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for group in session.scalars(select(MilitantGroup).order_by(MilitantGroup.id)):
        entries.append(
            {
                "type": "group",
                "key": group.slug,
                "title": f"{group.name} ({group.full_name})",
                "url": f"{API}/groups/{group.slug}",
                "names": _join(group.name, group.full_name, *group.aliases),
                "tags": _join(_label(group.type), *group.areas),
                "body": _join(group.summary),
            }
        )
    untracked = select(Institution).where(Institution.item_slug.is_(None))
    for inst in session.scalars(untracked.order_by(Institution.id)):
        entries.append(
            {
                "type": "institution",
                "key": inst.slug,
                "title": inst.name,
                "url": f"{API}/items?{urlencode({'institution': inst.name})}",
                "names": _join(inst.name, *inst.aliases),
                "tags": "",
                "body": _join(inst.note),
            }
        )
    for place in session.scalars(select(Place).order_by(Place.id)):
        entries.append(
            {
                "type": "place",
                "key": place.slug,
                "title": place.name,
                "url": f"{API}/places/{place.slug}",
                "names": _join(place.name, *place.aliases),
                "tags": _join(place.type, place.parent_slug),
                "body": _join(place.note),
            }
        )
    for table in session.scalars(select(StatisticsTable).order_by(StatisticsTable.id)):
        label = table.table_label or (f"section {table.section}" if table.section else table.id)
        entries.append(
            {
                "type": "statistics",
                "key": table.id,
                "title": f"{label}: {table.title}" if table.table_label else table.title,
                "url": f"{API}/stats?statistics={table.id}",
                "names": _join(table.title, table.table_label),
                "tags": _join("statistics", table.section),
                "body": _join(table.note),
            }
        )
    return entries


def _write(session: Session, entries: list[dict[str, Any]]) -> None:
    transaction_memo(session).pop(INDEX_STATE, None)
    if entries:
        session.execute(insert(SearchEntry), [{"item_slug": None, **e} for e in entries])


def rebuild(session: Session) -> int:
    """Replace the whole index; returns the number of entries."""
    session.execute(delete(SearchEntry))
    items = list(session.scalars(select(PolicyItem).order_by(PolicyItem.id)))
    entries = _item_entries(session, items) + _event_entries(session, items)
    entries += _entity_entries(session)
    _write(session, entries)
    return len(entries)


def reindex_items(session: Session, slugs: Iterable[str]) -> None:
    """Replace the entries of these items and of their timeline events."""
    wanted = sorted(set(slugs))
    if not wanted:
        return
    session.execute(delete(SearchEntry).where(SearchEntry.item_slug.in_(wanted)))
    items = list(session.scalars(select(PolicyItem).where(PolicyItem.slug.in_(wanted))))
    _write(session, _item_entries(session, items) + _event_entries(session, items))


@event.listens_for(Session, "after_flush")
def _collect_changed_items(session: Session, _context: Any) -> None:
    for obj in session.new:
        if isinstance(obj, AuditEntry) and obj.target_type == "item":
            session.info.setdefault(PENDING_ITEMS, set()).add(obj.target)


@event.listens_for(Session, "before_commit")
def _index_changed_items(session: Session) -> None:
    pending = session.info.pop(PENDING_ITEMS, None)
    if pending:
        reindex_items(session, pending)


@event.listens_for(Session, "after_rollback")
def _forget_changed_items(session: Session) -> None:
    session.info.pop(PENDING_ITEMS, None)
