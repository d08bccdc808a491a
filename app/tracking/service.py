"""Status history rules: which update is current, and keeping the item's copy in step."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.policies.models import PolicyItem
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
    if (item.status, item.progress, item.status_date) == (status, progress, status_date):
        return False
    item.status, item.progress, item.status_date = status, progress, status_date
    return True


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
