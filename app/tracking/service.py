"""Status history rules: which update is current, and keeping the item's copy in step."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.policies.models import PolicyItem, TimelineEvent
from app.policies.vocabulary import JURISDICTION_NAMES, Jurisdiction
from app.tracking.models import ReviewState, StatusUpdate
from app.tracking.status import Status


def current_order():  # type: ignore[no-untyped-def]
    """Latest effective date wins; on the same date, the later recorded update."""
    return (
        StatusUpdate.effective_date.desc(),
        StatusUpdate.recorded_at.desc(),
        StatusUpdate.id.desc(),
    )


async def refresh_current_status(session: AsyncSession, item: PolicyItem) -> bool:
    """Copy the item's latest approved overall update onto the item; True if anything changed.

    An update scoped to one jurisdiction only sets the overall status when no overall
    (unscoped) update exists.
    """
    approved = select(StatusUpdate).where(
        StatusUpdate.item_id == item.id, StatusUpdate.review_state == ReviewState.APPROVED
    )
    latest = (
        await session.scalars(
            approved.where(StatusUpdate.jurisdiction.is_(None)).order_by(*current_order()).limit(1)
        )
    ).first() or (await session.scalars(approved.order_by(*current_order()).limit(1))).first()
    status = latest.status if latest else Status.UNKNOWN.value
    progress = latest.progress if latest else None
    status_date = latest.effective_date if latest else None
    last_approved_at = await session.scalar(
        select(func.max(StatusUpdate.reviewed_at)).where(
            StatusUpdate.item_id == item.id, StatusUpdate.review_state == ReviewState.APPROVED
        )
    )
    current = (status, progress, status_date, last_approved_at)
    if (item.status, item.progress, item.status_date, item.last_approved_at) == current:
        return False
    item.status, item.progress, item.status_date, item.last_approved_at = current
    return True


async def record_status_change(
    session: AsyncSession, item: PolicyItem, update: StatusUpdate
) -> None:
    """Put an approved status update on the item's timeline, where journalists and feeds look."""
    where = (
        f" in {JURISDICTION_NAMES[Jurisdiction(update.jurisdiction)]}"
        if update.jurisdiction
        else ""
    )
    session.add(
        TimelineEvent(
            item_id=item.id,  # type: ignore[arg-type]
            event_date=update.effective_date,
            date_precision=update.effective_precision,
            type="status_change",
            description=f"Status{where}: {update.status.replace('_', ' ')}. {update.note}",
            sources=update.evidence,
            origin="status",
            author=update.author,
            review_state=ReviewState.APPROVED,
            reviewed_by=update.reviewed_by,
            reviewed_at=update.reviewed_at,
            status_update_id=update.id,
        )
    )


async def statuses_by_jurisdiction(session: AsyncSession, item_id: int) -> dict[str, StatusUpdate]:
    """The latest approved update for each jurisdiction an item's updates were scoped to."""
    rows = await session.scalars(
        select(StatusUpdate)
        .where(
            StatusUpdate.item_id == item_id,
            StatusUpdate.review_state == ReviewState.APPROVED,
            StatusUpdate.jurisdiction.is_not(None),
        )
        .order_by(*current_order())
    )
    latest: dict[str, StatusUpdate] = {}
    for update in rows:
        latest.setdefault(update.jurisdiction or "", update)
    return latest
