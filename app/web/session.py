"""Sign-in for the monitor and reviewer pages: a signed session cookie, CSRF tokens, flashes.

The cookie carries no secret. It holds the key's public prefix, a reference tied to that key's
stored hash (`accounts.service.key_reference`), the sign-in time, a random CSRF token and at
most one flash message, as JSON signed with NIGRAN_SESSION_SECRET (itsdangerous), so it can be
read by its holder but not altered. The API key itself is typed once into the sign-in form and
never stored: every request looks the key up again, so revoking it signs the browser out at once.
The cookie is HttpOnly and SameSite=Lax, and Secure when the request came over HTTPS.
"""

import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import FormData, MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.accounts.auth import writes
from app.accounts.models import Role
from app.accounts.service import Actor, Forbidden, Unauthenticated, actor_for_prefix
from app.core.config import get_settings
from app.core.db import SessionDep
from app.core.errors import NigranError
from app.web.security import require_same_origin

COOKIE = "nigran_session"
CSRF_FIELD = "csrf_token"
_SALT = "nigran-session"


class SessionCookie:
    """ASGI middleware: `request.session` from the signed cookie, written back only if changed.

    Starlette's SessionMiddleware fixes `Secure` once for the whole app and rewrites the cookie
    on every response; this one sets `Secure` per request (so plain-HTTP development works and
    HTTPS deployments get it) and leaves unchanged sessions alone.
    """

    def __init__(self, app: ASGIApp, *, secret: str, max_age_seconds: int) -> None:
        self.app = app
        self.serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.max_age = max_age_seconds

    def _load(self, raw: str | None) -> dict[str, Any]:
        if not raw:
            return {}
        try:
            data = self.serializer.loads(raw, max_age=self.max_age)
        except BadSignature:  # altered, signed with another secret, or older than max_age
            return {}
        return data if isinstance(data, dict) else {}

    def _set_cookie(self, data: dict[str, Any], *, https: bool) -> str:
        if data:
            value, max_age = self.serializer.dumps(data), self.max_age
        else:
            value, max_age = "", 0
        cookie = f"{COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax"
        return cookie + "; Secure" if https else cookie

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = HTTPConnection(scope).cookies.get(COOKIE)
        session = self._load(raw)
        scope["session"] = session
        before = json.dumps(session, sort_keys=True)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                now = scope["session"]
                if json.dumps(now, sort_keys=True) != before or (raw and not now):
                    headers = MutableHeaders(scope=message)
                    headers.append("Set-Cookie", self._set_cookie(now, https=_https(scope)))
                    headers.append("Vary", "Cookie")
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def _https(scope: Scope) -> bool:
    return scope.get("scheme") == "https"


def session_middleware() -> tuple[type[SessionCookie], dict[str, Any]]:
    """The middleware class and its options, for `app.add_middleware(cls, **options)`."""
    settings = get_settings()
    return SessionCookie, {
        "secret": settings.session_secret.get_secret_value(),
        "max_age_seconds": settings.session_hours * 3600,
    }


class SignInRequired(NigranError):
    """Raised by page dependencies; the page router answers with a redirect to /signin."""

    status_code = 303
    title = "Sign in"

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in to continue", next_path=next_path)
        self.next_path = next_path


class CsrfRefused(NigranError):
    status_code = 403
    title = "Forbidden"


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use; every form of the pages carries it."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


async def checked_form(request: Request) -> FormData:
    """The posted form, once it proved it came from one of our pages (same origin, the token)."""
    require_same_origin(request)
    form = await request.form(max_files=0, max_fields=50)
    sent = form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not secrets.compare_digest(sent.encode(), expected.encode())
    ):
        raise CsrfRefused(
            "this form is missing its security token or the token has expired; "
            "reload the page and submit it again"
        )
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


def flash(request: Request, message: str) -> None:
    """A confirmation shown once, on the next page that renders it."""
    request.session["flash"] = message


def pop_flash(request: Request) -> str | None:
    message = request.session.pop("flash", None)
    return message if isinstance(message, str) else None


def sign_in(request: Request, actor: Actor, reference: str) -> None:
    """Start a fresh session for `actor` (a new CSRF token too: nothing carries over)."""
    request.session.clear()
    request.session.update(key=actor.key_prefix, ref=reference, since=int(time.time()))
    csrf_token(request)


def sign_out(request: Request) -> None:
    request.session.clear()


def _signed_in_key(request: Request) -> tuple[str, str] | None:
    """(prefix, reference) of a sign-in still within NIGRAN_SESSION_HOURS, else None."""
    data = request.session
    prefix, reference, since = data.get("key"), data.get("ref"), data.get("since")
    if not (isinstance(prefix, str) and isinstance(reference, str) and isinstance(since, int)):
        return None
    if time.time() - since > get_settings().session_hours * 3600:
        return None
    return prefix, reference


async def page_actor(request: Request, session: SessionDep) -> Actor | None:
    """Who is signed in, checked against the key's current state on every request."""
    signed = _signed_in_key(request)
    if signed is None:
        if "key" in request.session:
            sign_out(request)
        return None
    try:
        actor = await actor_for_prefix(session, signed[0], reference=signed[1])
    except Unauthenticated as exc:
        sign_out(request)
        flash(request, f"You were signed out: {exc.detail}.")
        return None
    request.state.page_actor = actor  # for the error page, which has no dependencies
    if request.method not in ("GET", "HEAD"):
        await writes.hit(f"key:{actor.key_prefix}")  # the API's per-key write allowance, shared
    return actor


def require_page(role: Role) -> Callable[..., Awaitable[Actor]]:
    """A dependency: the signed-in actor if they hold `role`; otherwise sign in, or 403."""

    async def dependency(
        request: Request, actor: Annotated[Actor | None, Depends(page_actor)]
    ) -> Actor:
        if actor is None:
            target = request.url.path
            if request.method == "GET" and request.url.query:
                target += f"?{request.url.query}"
            raise SignInRequired(target if request.method == "GET" else _form_page(target))
        if not actor.can(role):
            raise Forbidden(f"this page needs the {role} role; your key has {actor.role}")
        return actor

    return dependency


def _form_page(post_path: str) -> str:
    """Where to return after signing in from a post: the page the form was on."""
    return "/review" if post_path.startswith("/review") else post_path


PageActor = Annotated[Actor | None, Depends(page_actor)]
MonitorPage = Annotated[Actor, Depends(require_page(Role.MONITOR))]
ReviewerPage = Annotated[Actor, Depends(require_page(Role.REVIEWER))]
