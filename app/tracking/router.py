"""Write endpoints of the review workflow, and the reviewers' queue."""

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse

from app.accounts.auth import MonitorActor, OptionalActor, ReviewerActor, client_address
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.idempotency import run_once
from app.core.pagination import Limit, RowId
from app.core.ratelimit import RateLimiter
from app.policies.router import CurrentItem
from app.policies.writes import parse_if_match
from app.tracking import workflow
from app.tracking.presenters import correction_out, event_out, update_out
from app.tracking.schemas import (
    CorrectionIn,
    CorrectionOut,
    EventIn,
    EventOut,
    QueuePage,
    RejectIn,
    ReviewIn,
    StatusUpdateIn,
    StatusUpdateOut,
)

router = APIRouter(tags=["tracking"])
corrections_limit = RateLimiter(
    get_settings().corrections_per_hour, 3600, "public corrections", name="corrections"
)
IfMatch = Annotated[
    str | None, Header(description='ETag of the item as last read, e.g. "nacta-v3".')
]


@router.post(
    "/items/{slug}/status-updates",
    status_code=201,
    response_model=StatusUpdateOut,
    summary="Propose a status (pending for monitors; a reviewer's is approved at once)",
)
async def propose_status(
    item: CurrentItem,
    body: StatusUpdateIn,
    actor: MonitorActor,
    session: SessionDep,
    request: Request,
    if_match: IfMatch = None,
) -> JSONResponse:
    async def produce() -> tuple[int, StatusUpdateOut]:
        update = await workflow.propose_status(
            session, item, actor, body, if_match=parse_if_match(if_match)
        )
        return 201, update_out(update, item.slug)

    return await run_once(session, request, actor.label, body.model_dump(mode="json"), produce)


@router.post(
    "/status-updates/{update_id}/approve",
    response_model=StatusUpdateOut,
    summary="Approve a proposed status",
)
async def approve_status(
    update_id: RowId,
    actor: ReviewerActor,
    session: SessionDep,
    if_match: IfMatch = None,
    body: ReviewIn | None = None,
) -> StatusUpdateOut:
    update = await workflow.approve_status(
        session, update_id, actor, if_match=parse_if_match(if_match)
    )
    return await _update_out(session, update)


@router.post(
    "/status-updates/{update_id}/reject",
    response_model=StatusUpdateOut,
    summary="Reject a proposed status",
)
async def reject_status(
    update_id: RowId, body: RejectIn, actor: ReviewerActor, session: SessionDep
) -> StatusUpdateOut:
    update = await workflow.reject_status(session, update_id, actor, body.reason)
    return await _update_out(session, update)


@router.post(
    "/items/{slug}/events",
    status_code=201,
    response_model=EventOut,
    summary="Propose a timeline event",
)
async def propose_event(
    item: CurrentItem, body: EventIn, actor: MonitorActor, session: SessionDep, request: Request
) -> JSONResponse:
    async def produce() -> tuple[int, EventOut]:
        return 201, event_out(await workflow.propose_event(session, item, actor, body), item.slug)

    return await run_once(session, request, actor.label, body.model_dump(mode="json"), produce)


@router.post(
    "/events/{event_id}/approve", response_model=EventOut, summary="Approve a proposed event"
)
async def approve_event(
    event_id: RowId, actor: ReviewerActor, session: SessionDep, body: ReviewIn | None = None
) -> EventOut:
    event = await workflow.review_event(
        session, event_id, actor, approve=True, reason=body.reason if body else None
    )
    return await _event_out(session, event)


@router.post(
    "/events/{event_id}/reject", response_model=EventOut, summary="Reject a proposed event"
)
async def reject_event(
    event_id: RowId, body: RejectIn, actor: ReviewerActor, session: SessionDep
) -> EventOut:
    event = await workflow.review_event(session, event_id, actor, approve=False, reason=body.reason)
    return await _event_out(session, event)


@router.post(
    "/items/{slug}/corrections",
    status_code=201,
    response_model=CorrectionOut,
    summary="Suggest a correction (no account needed; held for review)",
)
async def submit_correction(
    item: CurrentItem,
    body: CorrectionIn,
    session: SessionDep,
    request: Request,
    _caller: OptionalActor,
) -> CorrectionOut:
    await corrections_limit.hit(client_address(request))
    return correction_out(await workflow.submit_correction(session, item, body), item.slug)


@router.post(
    "/corrections/{correction_id}/approve",
    response_model=CorrectionOut,
    summary="Approve a correction",
)
async def approve_correction(
    correction_id: RowId,
    actor: ReviewerActor,
    session: SessionDep,
    if_match: IfMatch = None,
    body: ReviewIn | None = None,
) -> CorrectionOut:
    correction = await workflow.review_correction(
        session,
        correction_id,
        actor,
        approve=True,
        reason=body.reason if body else None,
        if_match=parse_if_match(if_match),
    )
    return await _correction_out(session, correction)


@router.post(
    "/corrections/{correction_id}/reject",
    response_model=CorrectionOut,
    summary="Reject a correction",
)
async def reject_correction(
    correction_id: RowId, body: RejectIn, actor: ReviewerActor, session: SessionDep
) -> CorrectionOut:
    correction = await workflow.review_correction(
        session, correction_id, actor, approve=False, reason=body.reason, if_match=None
    )
    return await _correction_out(session, correction)


@router.get(
    "/review-queue", response_model=QueuePage, summary="Everything awaiting review (reviewers)"
)
async def review_queue(actor: ReviewerActor, session: SessionDep, limit: Limit = 100) -> QueuePage:
    updates, events, corrections = await workflow.pending_queue(session, limit)
    slugs = await workflow.slugs_for(
        session,
        {u.item_id for u in updates}
        | {e.item_id for e in events}
        | {c.item_id for c in corrections},
    )
    return QueuePage(
        status_updates=[update_out(u, slugs[u.item_id]) for u in updates],
        events=[event_out(e, slugs[e.item_id]) for e in events],
        corrections=[correction_out(c, slugs[c.item_id]) for c in corrections],
    )


async def _update_out(session: SessionDep, update) -> StatusUpdateOut:  # type: ignore[no-untyped-def]
    slugs = await workflow.slugs_for(session, {update.item_id})
    return update_out(update, slugs[update.item_id])


async def _event_out(session: SessionDep, event) -> EventOut:  # type: ignore[no-untyped-def]
    slugs = await workflow.slugs_for(session, {event.item_id})
    return event_out(event, slugs[event.item_id])


async def _correction_out(session: SessionDep, correction) -> CorrectionOut:  # type: ignore[no-untyped-def]
    slugs = await workflow.slugs_for(session, {correction.item_id})
    return correction_out(correction, slugs[correction.item_id])
