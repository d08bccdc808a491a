"""Writing items: the one path both the loader and the API use, so both validate alike."""

import hashlib
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from app.audit import service as audit
from app.core.errors import Conflict, InvalidInput, NigranError
from app.core.pagination import MAX_ID
from app.core.time import utcnow
from app.policies.models import ItemInstitution, ItemRelation, ItemTheme, PolicyItem, TimelineEvent
from app.seed.schema import ItemCreate, ItemRecord, PartialDate, SourceRef
from app.tracking.models import ReviewState, StatusUpdate
from app.tracking.service import refresh_current_status


class PreconditionFailed(NigranError):
    status_code = 412
    title = "Precondition failed"


class PreconditionRequired(NigranError):
    status_code = 428
    title = "Precondition required"


def sources_json(refs: list[SourceRef]) -> list[dict[str, Any]]:
    return [ref.model_dump(exclude_none=True) for ref in refs]


def _date(value: PartialDate | None) -> Any:
    return value.date if value else None


def item_columns(record: ItemRecord) -> dict[str, Any]:
    """The item table's columns for a validated record."""
    return {
        "slug": record.slug,
        "kind": str(record.kind),
        "title": record.title,
        "short_title": record.short_title,
        "number": record.number,
        "summary": record.summary,
        "jurisdiction": str(record.jurisdiction) if record.jurisdiction else None,
        "aliases": record.aliases,
        "target_actors": [str(a) for a in record.target_actors],
        "sources": sources_json(record.sources),
        "start_date": _date(record.start_date),
        "start_precision": record.start_date.precision if record.start_date else None,
        "end_date": _date(record.end_date),
        "end_precision": record.end_date.precision if record.end_date else None,
        "target_date": _date(record.target_date),
    }


async def replace_item_sets(
    session: AsyncSession,
    item: PolicyItem,
    *,
    themes: list[str],
    institutions: list[str],
    related_ids: list[int],
) -> bool:
    """Make the item's themes, institutions and related items exactly these; True if changed."""
    changed = False
    for model, column, wanted in (
        (ItemTheme, "theme", sorted(set(themes))),
        (ItemInstitution, "institution", list(dict.fromkeys(institutions))),
    ):
        rows = await session.scalars(select(model).where(model.item_id == item.id))  # type: ignore[attr-defined]
        if sorted(getattr(r, column) for r in rows) != sorted(wanted):
            await session.execute(delete(model).where(model.item_id == item.id))  # type: ignore[attr-defined]
            for position, value in enumerate(wanted):
                extra = {"position": position} if model is ItemInstitution else {}
                session.add(model(item_id=item.id, **{column: value}, **extra))
            changed = True
    wanted_related = sorted(set(related_ids))
    have = sorted(
        await session.scalars(
            select(ItemRelation.related_id).where(ItemRelation.item_id == item.id)
        )
    )
    if have != wanted_related:
        await session.execute(delete(ItemRelation).where(ItemRelation.item_id == item.id))
        for related_id in wanted_related:
            session.add(ItemRelation(item_id=item.id, related_id=related_id))
        changed = True
    return changed


def parse_if_match(header: str | None) -> int | None:
    """The item version an `If-Match` names (`"slug-v3"`, `"slug-v3.1f2e…"` as a read sends
    it, `W/"slug-v3"`), or None if absent."""
    if header is None:
        return None
    tag = header.strip().removeprefix("W/").strip('"')
    version = tag.rpartition("-v")[2].split(".", 1)[0] if "-v" in tag else ""
    # '¹' is a digit int() refuses; past the INTEGER column's range a number names no version
    # (and would overflow in the database).
    if not (version.isascii() and version.isdigit() and int(version[:12]) <= MAX_ID):
        raise PreconditionFailed(f"If-Match {header!r} names no version of this item")
    return int(version)


def etag(item: PolicyItem) -> str:
    return f'"{item.slug}-v{item.version}"'


def representation_etag(slug: str, version: int, body: bytes) -> str:
    """The ETag of one rendering of an item: its version, which `If-Match` checks, and a
    digest of the body, which `If-None-Match` checks (the body also changes when, say, a
    child item is renamed, without the item's own version moving)."""
    digest = hashlib.blake2b(body, digest_size=8).hexdigest()
    return f'"{slug}-v{version}.{digest}"'


async def bump_version(session: AsyncSession, item: PolicyItem, expected: int) -> None:
    """Advance the item's version only if it is still `expected`: the optimistic lock.

    The conditional UPDATE is atomic on both engines, so of several writers holding the same
    version exactly one succeeds and the others get 412.
    """
    result = await session.execute(
        update(PolicyItem)
        .where(PolicyItem.id == item.id, PolicyItem.version == expected)
        .values(version=expected + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        current = await session.scalar(select(PolicyItem.version).where(PolicyItem.id == item.id))
        raise PreconditionFailed(
            f"item {item.slug!r} is at version {current}, not {expected}: re-read it and retry",
            current_version=current,
            current_etag=f'"{item.slug}-v{current}"',
        )
    set_committed_value(item, "version", expected + 1)


async def _slug_ids(session: AsyncSession, slugs: list[str], field: str) -> dict[str, int]:
    found = dict(
        (
            await session.execute(
                select(PolicyItem.slug, PolicyItem.id).where(PolicyItem.slug.in_(slugs))
            )
        ).all()
    )
    missing = [s for s in slugs if s not in found]
    if missing:
        raise InvalidInput(
            f"{field}: no item {missing[0]!r}",
            errors=[{"field": f"body.{field}", "message": f"no item {missing[0]!r}"}],
        )
    return found  # type: ignore[return-value]


def _validated(raw: dict[str, Any]) -> ItemCreate:
    try:
        return ItemCreate.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"field": "body." + ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors()
        ]
        raise InvalidInput(
            "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors
        ) from exc


async def create_item(session: AsyncSession, raw: dict[str, Any], actor: str) -> PolicyItem:
    """A new item, validated exactly as the loader validates policy_data/."""
    record = _validated(raw)
    if await session.scalar(select(PolicyItem.id).where(PolicyItem.slug == record.slug)):
        raise Conflict(f"an item with slug {record.slug!r} already exists")
    ids = await _slug_ids(
        session, [*([record.parent] if record.parent else []), *record.related], "related"
    )
    item = PolicyItem(**item_columns(record), origin="api", parent_id=ids.get(record.parent or ""))
    session.add(item)
    await session.flush()
    await replace_item_sets(
        session,
        item,
        themes=[str(t) for t in record.themes],
        institutions=record.institutions,
        related_ids=[ids[s] for s in record.related],
    )
    for event in record.timeline:
        session.add(
            TimelineEvent(
                item_id=item.id,
                event_date=event.date.date,
                date_precision=event.date.precision,  # type: ignore[arg-type]
                type=str(event.type),
                description=event.description,
                sources=sources_json(event.sources),
                origin="api",
                author=actor,
                reviewed_by=actor,
                reviewed_at=utcnow(),
            )
        )
    for baseline in record.status:
        session.add(
            StatusUpdate(
                item_id=item.id,
                status=str(baseline.status),
                progress=baseline.progress,  # type: ignore[arg-type]
                note=baseline.note,
                evidence=sources_json(baseline.evidence),
                jurisdiction=str(baseline.jurisdiction) if baseline.jurisdiction else None,
                author=actor,
                effective_date=baseline.effective_date.date,
                effective_precision=baseline.effective_date.precision,
                review_state=ReviewState.APPROVED,
                reviewed_by=actor,
                reviewed_at=utcnow(),
                origin="api",
                base_version=1,
            )
        )
    await session.flush()
    await refresh_current_status(session, item)
    await audit.append(
        session,
        actor=actor,
        action="item.create",
        target_type="item",
        target=item.slug,
        details={"kind": item.kind},
    )
    return item


async def item_as_record(session: AsyncSession, item: PolicyItem) -> dict[str, Any]:
    """The editable fields of a stored item, in the shape of a policy_data/ record."""
    themes = list(
        await session.scalars(select(ItemTheme.theme).where(ItemTheme.item_id == item.id))
    )
    institutions = list(
        await session.scalars(
            select(ItemInstitution.institution)
            .where(ItemInstitution.item_id == item.id)
            .order_by(ItemInstitution.position)
        )
    )
    related = list(
        await session.scalars(
            select(PolicyItem.slug)
            .join(ItemRelation, ItemRelation.related_id == PolicyItem.id)
            .where(ItemRelation.item_id == item.id)
        )
    )
    parent = (
        await session.scalar(select(PolicyItem.slug).where(PolicyItem.id == item.parent_id))
        if item.parent_id
        else None
    )

    def partial(value: Any, precision: str | None) -> str | None:
        if value is None:
            return None
        return {"year": value.isoformat()[:4], "month": value.isoformat()[:7]}.get(
            precision or "day", value.isoformat()
        )

    return {
        "slug": item.slug,
        "kind": item.kind,
        "title": item.title,
        "short_title": item.short_title,
        "aliases": item.aliases,
        "summary": item.summary,
        "parent": parent,
        "number": item.number,
        "themes": themes,
        "jurisdiction": item.jurisdiction,
        "institutions": institutions,
        "target_actors": item.target_actors,
        "start_date": partial(item.start_date, item.start_precision),
        "end_date": partial(item.end_date, item.end_precision),
        "target_date": partial(item.target_date, "day"),
        "related": related,
        "sources": item.sources,
    }


async def edit_item(
    session: AsyncSession,
    item: PolicyItem,
    changes: dict[str, Any],
    actor: str,
    if_match: int | None,
) -> PolicyItem:
    """Apply a partial edit under the item's optimistic lock."""
    if if_match is None:
        raise PreconditionRequired("send If-Match with the item's ETag to edit it")
    if "slug" in changes and changes["slug"] != item.slug:
        raise InvalidInput(
            "slug cannot change: links and history hang on it",
            errors=[{"field": "body.slug", "message": "cannot change"}],
        )
    record = _validated({**await item_as_record(session, item), **changes})
    ids = await _slug_ids(
        session, [*([record.parent] if record.parent else []), *record.related], "related"
    )
    if record.parent == item.slug:
        raise InvalidInput(
            "an item cannot be its own parent",
            errors=[{"field": "body.parent", "message": "is the item itself"}],
        )
    await bump_version(session, item, if_match)
    for name, value in item_columns(record).items():
        setattr(item, name, value)
    item.parent_id = ids.get(record.parent or "")
    item.updated_at = utcnow()
    await replace_item_sets(
        session,
        item,
        themes=[str(t) for t in record.themes],
        institutions=record.institutions,
        related_ids=[ids[s] for s in record.related],
    )
    await session.flush()
    await audit.append(
        session,
        actor=actor,
        action="item.edit",
        target_type="item",
        target=item.slug,
        details={"fields": sorted(changes), "version": item.version},
    )
    return item
