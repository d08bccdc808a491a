"""The monitor and reviewer pages: sign in, propose a status update, work the review queue.

Each page calls the same workflow functions as the API (`app.tracking.workflow`), so a
proposal or a decision made here is validated, locked, attributed and audited exactly like one
made with curl. Every form posts back here with the session's CSRF token; a refused write
(stale version, already reviewed, invalid input) re-renders the page with what was typed and
the item's current state, so nothing the person entered is lost.
"""

from collections.abc import Awaitable, Callable, Mapping
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.datastructures import FormData

from app.accounts.auth import client_address, failed_auth
from app.accounts.models import Role
from app.accounts.service import Actor, Unauthenticated, authenticate, key_reference
from app.core.db import SessionDep
from app.core.errors import Conflict, NigranError
from app.core.pagination import MAX_ID, RowId
from app.core.security import hash_key
from app.policies import service as items
from app.policies.models import PolicyItem, TimelineEvent
from app.policies.router import CurrentItem
from app.policies.vocabulary import JURISDICTION_NAMES, Jurisdiction
from app.policies.writes import PreconditionFailed
from app.tracking import workflow
from app.tracking.models import Correction, StatusUpdate
from app.tracking.presenters import correction_out, event_out, update_out
from app.tracking.schemas import RejectIn, StatusUpdateIn
from app.tracking.status import Status
from app.web import templates
from app.web.session import (
    CSRF_FIELD,
    CheckedForm,
    MonitorPage,
    PageActor,
    ReviewerPage,
    SignInRequired,
    csrf_token,
    flash,
    pop_flash,
    sign_in,
    sign_out,
)

QUEUE_LIMIT = 100
PROPOSE_FIELDS = (
    "status",
    "progress",
    "jurisdiction",
    "effective_date",
    "note",
    "evidence_url",
    "evidence_title",
    "evidence_published",
    "version",
)


class PageRoute(APIRoute):
    """Answers a page's refusals as HTML pages, not the API's problem+json.

    The exception has already left the request's database session, which rolled back.
    Every answer is `no-store`: these pages carry CSRF tokens and unpublished proposals.
    """

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired as exc:
                response = RedirectResponse(
                    f"/signin?next={quote(exc.next_path, safe='/')}", status_code=303
                )
            except NigranError as exc:
                response = error_page(request, exc.status_code, exc.title, exc.detail)
                if "retry_after" in exc.extra:
                    response.headers["Retry-After"] = str(exc.extra["retry_after"])
            except RequestValidationError:  # only path parameters reach FastAPI's validation
                response = error_page(request, 404, "Not found", "There is no such page.")
            response.headers["Cache-Control"] = "no-store"
            return response

        return page_handler


router = APIRouter(route_class=PageRoute, include_in_schema=False)


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    actor: Actor | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page with what every one of ours needs: the CSRF token, the signed-in actor, a flash."""
    full = {"csrf_token": csrf_token(request), "csrf_field": CSRF_FIELD, "actor": actor}
    full["flash"] = pop_flash(request)
    full.update(context)
    return templates.TemplateResponse(request, name, full, status_code=status_code)


def _version(raw: str) -> int | None:
    """An item version a form sent, or None: ASCII digits in the INTEGER range only ('¹' is
    a digit int() refuses; a longer number would overflow in the database)."""
    if raw.isascii() and raw.isdigit() and int(raw[:12]) <= MAX_ID:
        return int(raw)
    return None


def error_page(request: Request, status_code: int, title: str, detail: str) -> HTMLResponse:
    return render(
        request,
        "review_error.html",
        {"title": title, "detail": detail, "status_code": status_code},
        actor=getattr(request.state, "page_actor", None),
        status_code=status_code,
    )


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def safe_next(value: str | None) -> str | None:
    """A path on this site to return to after signing in; anything else is dropped."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ch < " " for ch in value):
        return None
    return value


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# Sign in and out -----------------------------------------------------------------------------


@router.get("/signin", response_class=HTMLResponse)
async def signin_form(request: Request, actor: PageActor, next: str | None = None) -> Response:
    return render(request, "signin.html", {"next": safe_next(next)}, actor=actor)


@router.post("/signin", response_class=HTMLResponse)
async def signin_submit(request: Request, form: CheckedForm, session: SessionDep) -> Response:
    """Check the key as the API does (same failure allowance per address), then keep only a
    reference to it in the session."""
    next_path = safe_next(_text(form, "next"))
    address = client_address(request)
    await failed_auth.check(address)
    key = _text(form, "api_key")
    try:
        actor = await authenticate(session, key)
    except Unauthenticated as exc:
        await failed_auth.record(address)
        sign_out(request)
        context = {"next": next_path, "error": f"Not signed in: {exc.detail}."}
        return render(request, "signin.html", context, status_code=422)
    sign_in(request, actor, key_reference(hash_key(key)))
    return _redirect(next_path or ("/review" if actor.can(Role.REVIEWER) else "/"))


@router.post("/signout")
async def signout(request: Request, form: CheckedForm) -> Response:
    sign_out(request)
    flash(request, "You are signed out.")
    return _redirect("/signin")


# Propose a status update ---------------------------------------------------------------------


def _choices() -> dict[str, list[tuple[str, str]]]:
    return {
        "statuses": [(s.value, s.value.replace("_", " ")) for s in Status],
        "jurisdictions": [(j.value, JURISDICTION_NAMES[j]) for j in Jurisdiction],
    }


def _status_input(values: Mapping[str, str]) -> dict[str, Any]:
    """The form's flat fields in the API's JSON shape; empty optional fields are absent."""
    evidence = {
        "url": values["evidence_url"] or None,
        "title": values["evidence_title"],
        "published": values["evidence_published"] or None,
    }
    return {
        "status": values["status"] or None,
        "progress": values["progress"] or None,
        "note": values["note"],
        "effective_date": values["effective_date"] or None,
        "jurisdiction": values["jurisdiction"] or None,
        "evidence": [evidence],
    }


def _field_errors(exc: ValidationError) -> dict[str, list[str]]:
    """Pydantic's errors keyed by the form field they belong to."""
    errors: dict[str, list[str]] = {}
    for error in exc.errors():
        loc = error["loc"]
        field = str(loc[0]) if loc else "note"
        if field == "evidence":
            field = f"evidence_{loc[2]}" if len(loc) > 2 else "evidence_url"
        message = error["msg"].removeprefix("Value error, ")
        errors.setdefault(field, []).append(message[:1].upper() + message[1:])
    return errors


def _seen_version(raw: str, item: PolicyItem) -> int:
    """The item version the form was opened on, which must still be the item's version.

    `workflow.propose_status` checks `if_match` only when it approves at once (reviewers);
    a monitor's form is held to the same precondition here so that a proposal written against
    an older state is shown that state instead of being filed silently.
    """
    seen = _version(raw)
    if seen is None:
        raise PreconditionFailed("the form did not say which version of the item it showed")
    if seen != item.version:
        raise PreconditionFailed(
            f"item {item.slug!r} is at version {item.version}, not {seen}",
            current_version=item.version,
        )
    return seen


async def _propose_page(
    request: Request,
    session: SessionDep,
    item: PolicyItem,
    actor: Actor,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, list[str]] | None = None,
    stale: bool = False,
    status_code: int = 200,
) -> HTMLResponse:
    (summary,) = await items.summarize(session, [item])
    typed = dict.fromkeys(PROPOSE_FIELDS, "") | dict(values or {})
    if values is None or stale:  # the form now confirms the state this page shows
        typed["version"] = str(item.version)
    context = {"item": summary, "values": typed, "errors": errors or {}, "stale": stale}
    return render(
        request, "propose.html", context | _choices(), actor=actor, status_code=status_code
    )


@router.get("/items/{slug}/propose", response_class=HTMLResponse)
async def propose_form(
    request: Request, actor: MonitorPage, item: CurrentItem, session: SessionDep
) -> Response:
    return await _propose_page(request, session, item, actor)


@router.post("/items/{slug}/propose", response_class=HTMLResponse)
async def propose_submit(
    request: Request,
    actor: MonitorPage,
    form: CheckedForm,
    item: CurrentItem,
    session: SessionDep,
) -> Response:
    values = {name: _text(form, name) for name in PROPOSE_FIELDS}
    try:
        data = StatusUpdateIn.model_validate(_status_input(values))
    except ValidationError as exc:
        return await _propose_page(
            request, session, item, actor, values=values, errors=_field_errors(exc), status_code=422
        )
    try:
        seen = _seen_version(values["version"], item)
        update = await workflow.propose_status(session, item, actor, data, if_match=seen)
    except PreconditionFailed:
        slug = item.slug  # read before the rollback expires the loaded row
        await session.rollback()  # a reviewer's proposal was flushed before its approval failed
        item = await items.get_item(session, slug)
        return await _propose_page(
            request, session, item, actor, values=values, stale=True, status_code=412
        )
    if update.review_state == "approved":
        flash(request, f"Your status update #{update.id} was approved and is now on record.")
    else:
        flash(request, f"Your status update #{update.id} was sent for review.")
    return _redirect(f"/items/{item.slug}")


# The review queue ----------------------------------------------------------------------------


class Kind(StrEnum):
    STATUS_UPDATES = "status-updates"
    EVENTS = "events"
    CORRECTIONS = "corrections"


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


KIND_NAMES = {
    Kind.STATUS_UPDATES: "status update",
    Kind.EVENTS: "timeline event",
    Kind.CORRECTIONS: "correction",
}


async def _queue(session: SessionDep) -> dict[str, list[dict[str, Any]]]:
    """The pending queue as the API shapes it, plus the item version each proposal saw."""
    updates, events, corrections = await workflow.pending_queue(session, QUEUE_LIMIT)
    slugs = await workflow.slugs_for(
        session,
        {u.item_id for u in updates}
        | {e.item_id for e in events}
        | {c.item_id for c in corrections},
    )
    return {
        "status_updates": [
            {"row": update_out(u, slugs[u.item_id]), "version": u.base_version} for u in updates
        ],
        "events": [{"row": event_out(e, slugs[e.item_id]), "version": None} for e in events],
        "corrections": [
            {"row": correction_out(c, slugs[c.item_id]), "version": c.base_version}
            for c in corrections
        ],
    }


async def _review_page(
    request: Request,
    session: SessionDep,
    actor: Actor,
    *,
    problem: Mapping[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {"queue": await _queue(session), "problem": problem, "kind_names": KIND_NAMES}
    return render(request, "review.html", context, actor=actor, status_code=status_code)


@router.get("/review", response_class=HTMLResponse)
async def review_queue(request: Request, actor: ReviewerPage, session: SessionDep) -> Response:
    return await _review_page(request, session, actor)


async def _decide(
    session: SessionDep,
    kind: Kind,
    ident: int,
    actor: Actor,
    *,
    approve: bool,
    reason: str | None,
    version: int | None,
) -> None:
    """One workflow call, the same the API's approve and reject endpoints make."""
    if kind is Kind.STATUS_UPDATES and approve:
        await workflow.approve_status(session, ident, actor, if_match=version)
    elif kind is Kind.STATUS_UPDATES:
        await workflow.reject_status(session, ident, actor, reason or "")
    elif kind is Kind.EVENTS:
        await workflow.review_event(session, ident, actor, approve=approve, reason=reason)
    else:
        await workflow.review_correction(
            session,
            ident,
            actor,
            approve=approve,
            reason=reason,
            if_match=version if approve else None,
        )


async def _current_state(session: SessionDep, kind: Kind, ident: int) -> dict[str, Any]:
    """The proposal as it stands now and the item it concerns, for a refused decision."""
    model: type = {
        Kind.STATUS_UPDATES: StatusUpdate,
        Kind.EVENTS: TimelineEvent,
        Kind.CORRECTIONS: Correction,
    }[kind]
    row = await session.get(model, ident)
    if row is None:
        return {}
    (slug,) = (await workflow.slugs_for(session, {row.item_id})).values()
    item = await items.get_item(session, slug)
    (summary,) = await items.summarize(session, [item])
    return {"item": summary, "review_state": row.review_state, "reviewed_by": row.reviewed_by}


@router.post("/review/{kind}/{ident}/{decision}", response_class=HTMLResponse)
async def review_decide(
    request: Request,
    kind: Kind,
    ident: RowId,
    decision: Decision,
    actor: ReviewerPage,
    form: CheckedForm,
    session: SessionDep,
) -> Response:
    approve = decision is Decision.APPROVE
    reason = _text(form, "reason") or None
    problem: dict[str, Any] = {"kind": kind.value, "id": ident, "reason": reason or ""}
    if not approve:
        try:
            reason = RejectIn(reason=reason or "").reason
        except ValidationError as exc:
            messages = [e["msg"].removeprefix("Value error, ") for e in exc.errors()]
            problem |= {"status": 422, "message": "Reason: " + "; ".join(messages)}
            return await _review_page(request, session, actor, problem=problem, status_code=422)
    raw_version = _text(form, "version")
    version = _version(raw_version)
    try:
        await _decide(session, kind, ident, actor, approve=approve, reason=reason, version=version)
    except (PreconditionFailed, Conflict) as exc:
        await session.rollback()
        problem |= {"status": exc.status_code, "message": exc.detail, "seen": version}
        problem |= await _current_state(session, kind, ident)
        return await _review_page(
            request, session, actor, problem=problem, status_code=exc.status_code
        )
    done = "approved" if approve else "rejected"
    flash(request, f"{KIND_NAMES[kind].capitalize()} #{ident} {done}.")
    return _redirect("/review")
