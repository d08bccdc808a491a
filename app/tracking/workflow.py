"""The review workflow: monitors propose, reviewers approve or reject, the public suggests.

Every write is attributed and appended to the audit chain in the same transaction. Approving
anything that changes an item takes the item's optimistic lock (its version), so concurrent
reviewers cannot silently overwrite one another.
"""

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Role
from app.accounts.service import Actor
from app.audit import service as audit
from app.core.errors import Conflict, NotFound
from app.core.time import utcnow
from app.policies.models import PolicyItem, TimelineEvent
from app.policies.writes import bump_version
from app.tracking.models import Correction, ReviewState, StatusUpdate
from app.tracking.schemas import CorrectionIn, EventIn, StatusUpdateIn
from app.tracking.service import record_status_change, refresh_current_status

PUBLIC = "public"


async def _get(session: AsyncSession, model: type, ident: int, what: str):  # type: ignore[no-untyped-def]
    row = await session.get(model, ident)
    if row is None:
        raise NotFound(f"no {what} with id {ident}")
    return row


async def _claim(
    session: AsyncSession,
    model: type,
    ident: int,
    state: ReviewState,
    actor: str,
    reason: str | None,
) -> None:
    """Move a pending row to `state`, atomically: of two racing reviewers only one succeeds."""
    result = await session.execute(
        update(model)
        .where(model.id == ident, model.review_state == ReviewState.PENDING)  # type: ignore[attr-defined]
        .values(review_state=state, reviewed_by=actor, reviewed_at=utcnow(), review_reason=reason)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"this proposal was already reviewed (id {ident})")


async def propose_status(
    session: AsyncSession,
    item: PolicyItem,
    actor: Actor,
    data: StatusUpdateIn,
    *,
    if_match: int | None,
) -> StatusUpdate:
    """Record a proposed status; a reviewer's own proposal is approved at once."""
    update_row = StatusUpdate(
        item_id=item.id,  # type: ignore[arg-type]
        status=data.status,
        progress=data.progress,
        note=data.note,
        evidence=[e.as_citation() for e in data.evidence],
        jurisdiction=data.jurisdiction,
        author=actor.label,
        effective_date=data.effective_date,
        review_state=ReviewState.PENDING,
        origin="api",
        # The version the proposer saw (If-Match), so an approval can tell if the item moved on.
        base_version=if_match if if_match is not None else item.version,
    )
    session.add(update_row)
    await session.flush()
    await audit.append(
        session,
        actor=actor.label,
        action="status_update.propose",
        target_type="item",
        target=item.slug,
        details={
            "status_update": update_row.id,
            "status": data.status,
            "jurisdiction": data.jurisdiction,
        },
    )
    if actor.can(Role.REVIEWER):
        await approve_status(session, update_row.id, actor, if_match=if_match)  # type: ignore[arg-type]
    return update_row


async def approve_status(
    session: AsyncSession, update_id: int, actor: Actor, *, if_match: int | None
) -> StatusUpdate:
    update_row: StatusUpdate = await _get(session, StatusUpdate, update_id, "status update")
    if update_row.review_state != ReviewState.PENDING:
        raise Conflict(f"status update {update_id} is already {update_row.review_state}")
    item: PolicyItem = await _get(session, PolicyItem, update_row.item_id, "item")
    await bump_version(
        session, item, if_match if if_match is not None else update_row.base_version or item.version
    )
    await _claim(session, StatusUpdate, update_id, ReviewState.APPROVED, actor.label, None)
    await session.refresh(update_row)
    await refresh_current_status(session, item)
    await record_status_change(session, item, update_row)
    await audit.append(
        session,
        actor=actor.label,
        action="status_update.approve",
        target_type="item",
        target=item.slug,
        details={"status_update": update_id, "status": update_row.status, "version": item.version},
    )
    return update_row


async def reject_status(
    session: AsyncSession, update_id: int, actor: Actor, reason: str
) -> StatusUpdate:
    update_row: StatusUpdate = await _get(session, StatusUpdate, update_id, "status update")
    await _claim(session, StatusUpdate, update_id, ReviewState.REJECTED, actor.label, reason)
    await session.refresh(update_row)
    item: PolicyItem = await _get(session, PolicyItem, update_row.item_id, "item")
    await audit.append(
        session,
        actor=actor.label,
        action="status_update.reject",
        target_type="item",
        target=item.slug,
        details={"status_update": update_id, "reason": reason},
    )
    return update_row


async def propose_event(
    session: AsyncSession, item: PolicyItem, actor: Actor, data: EventIn
) -> TimelineEvent:
    reviewer = actor.can(Role.REVIEWER)
    event = TimelineEvent(
        item_id=item.id,  # type: ignore[arg-type]
        event_date=data.date,
        date_precision="day",
        type=data.type,
        description=data.description,
        sources=[e.as_citation() for e in data.evidence],
        origin="api",
        author=actor.label,
        review_state=ReviewState.APPROVED if reviewer else ReviewState.PENDING,
        reviewed_by=actor.label if reviewer else None,
        reviewed_at=utcnow() if reviewer else None,
    )
    session.add(event)
    await session.flush()
    await audit.append(
        session,
        actor=actor.label,
        action="event.add" if reviewer else "event.propose",
        target_type="item",
        target=item.slug,
        details={"event": event.id, "date": data.date, "type": data.type},
    )
    return event


async def review_event(
    session: AsyncSession, event_id: int, actor: Actor, *, approve: bool, reason: str | None
) -> TimelineEvent:
    event: TimelineEvent = await _get(session, TimelineEvent, event_id, "timeline event")
    state = ReviewState.APPROVED if approve else ReviewState.REJECTED
    await _claim(session, TimelineEvent, event_id, state, actor.label, reason)
    await session.refresh(event)
    item: PolicyItem = await _get(session, PolicyItem, event.item_id, "item")
    await audit.append(
        session,
        actor=actor.label,
        action=f"event.{'approve' if approve else 'reject'}",
        target_type="item",
        target=item.slug,
        details={"event": event_id, "reason": reason},
    )
    return event


async def submit_correction(
    session: AsyncSession, item: PolicyItem, data: CorrectionIn
) -> Correction:
    correction = Correction(
        item_id=item.id,  # type: ignore[arg-type]
        message=data.message,
        proposed_status=data.proposed_status,
        evidence=[e.as_citation() for e in data.evidence],
        contact=data.contact,
        base_version=item.version,
    )
    session.add(correction)
    await session.flush()
    await audit.append(
        session,
        actor=PUBLIC,
        action="correction.submit",
        target_type="item",
        target=item.slug,
        details={"correction": correction.id, "proposed_status": data.proposed_status},
    )
    return correction


async def review_correction(
    session: AsyncSession,
    correction_id: int,
    actor: Actor,
    *,
    approve: bool,
    reason: str | None,
    if_match: int | None,
) -> Correction:
    """Approving a correction that proposes a status records it as an approved status update."""
    correction: Correction = await _get(session, Correction, correction_id, "correction")
    item: PolicyItem = await _get(session, PolicyItem, correction.item_id, "item")
    if approve and correction.proposed_status and correction.review_state == ReviewState.PENDING:
        await bump_version(
            session, item, if_match if if_match is not None else correction.base_version
        )
        update_row = StatusUpdate(
            item_id=item.id,  # type: ignore[arg-type]
            status=correction.proposed_status,
            note=correction.message,
            evidence=correction.evidence,
            author=f"public correction #{correction.id}",
            effective_date=correction.submitted_at.date(),
            review_state=ReviewState.APPROVED,
            reviewed_by=actor.label,
            reviewed_at=utcnow(),
            origin=PUBLIC,
            base_version=correction.base_version,
        )
        session.add(update_row)
        await session.flush()
        correction.status_update_id = update_row.id
        await record_status_change(session, item, update_row)
    state = ReviewState.APPROVED if approve else ReviewState.REJECTED
    await _claim(session, Correction, correction_id, state, actor.label, reason)
    await session.refresh(correction)
    if approve and correction.proposed_status:
        await refresh_current_status(session, item)
    await audit.append(
        session,
        actor=actor.label,
        action=f"correction.{'approve' if approve else 'reject'}",
        target_type="item",
        target=item.slug,
        details={"correction": correction_id, "reason": reason},
    )
    return correction


async def pending_queue(
    session: AsyncSession, limit: int
) -> tuple[list[StatusUpdate], list[TimelineEvent], list[Correction]]:
    pending = ReviewState.PENDING.value
    updates = await session.scalars(
        select(StatusUpdate)
        .where(StatusUpdate.review_state == pending)
        .order_by(StatusUpdate.id)
        .limit(limit)
    )
    events = await session.scalars(
        select(TimelineEvent)
        .where(TimelineEvent.review_state == pending)
        .order_by(TimelineEvent.id)
        .limit(limit)
    )
    corrections = await session.scalars(
        select(Correction)
        .where(Correction.review_state == pending)
        .order_by(Correction.id)
        .limit(limit)
    )
    return list(updates), list(events), list(corrections)


async def slugs_for(session: AsyncSession, item_ids: set[int]) -> dict[int, str]:
    rows = await session.execute(
        select(PolicyItem.id, PolicyItem.slug).where(PolicyItem.id.in_(item_ids))
    )
    return dict(rows.all())  # type: ignore[arg-type]
