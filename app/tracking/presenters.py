"""Rows of the review workflow as response shapes."""

from app.policies.models import TimelineEvent
from app.policies.schemas import citations
from app.tracking.models import Correction, StatusUpdate
from app.tracking.schemas import CorrectionOut, EventOut, StatusUpdateOut


def update_out(update: StatusUpdate, slug: str) -> StatusUpdateOut:
    return StatusUpdateOut(
        **update.model_dump(exclude={"evidence", "item_id", "origin", "seed_key", "base_version"}),
        item=slug,
        evidence=citations(update.evidence, {}),
    )


def event_out(event: TimelineEvent, slug: str) -> EventOut:
    return EventOut(
        id=event.id,  # type: ignore[arg-type]
        item=slug,
        date=event.event_date,
        type=event.type,
        description=event.description,
        author=event.author,
        review_state=event.review_state,
        sources=citations(event.sources, {}),
    )


def correction_out(correction: Correction, slug: str) -> CorrectionOut:
    return CorrectionOut(
        id=correction.id,  # type: ignore[arg-type]
        item=slug,
        message=correction.message,
        proposed_status=correction.proposed_status,
        submitted_at=correction.submitted_at,
        review_state=correction.review_state,
        reviewed_by=correction.reviewed_by,
        review_reason=correction.review_reason,
        evidence=citations(correction.evidence, {}),
    )
