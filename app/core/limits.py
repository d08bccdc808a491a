"""Refuse what no handler should see: request bodies over the configured size (a few paths, the
incident import, have a larger limit of their own), and NUL characters in the address or in a
form or JSON body.

A declared size (Content-Length) is refused before the app runs; a streamed body (chunked, no
Content-Length) is checked as the app reads it and refused the moment it crosses the limit, with
the same 413, whatever the app does with its failed read (a JSON endpoint would otherwise answer
its own 400 "error parsing the body").
"""

import re
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import problem

Check = Callable[[bytes], None]  # raises _Refused to stop the read


class _Refused(Exception):
    def __init__(self, status: int, title: str, detail: str):
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


async def _refuse(scope: Scope, send: Send, refused: _Refused) -> None:
    response = problem(refused.status, refused.title, refused.detail, scope["path"])
    await response(scope, _empty_receive, send)


async def _run_checked(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send, check: Check
) -> None:
    """Run the app, passing each body chunk to `check` as the app reads it; if it refuses, the
    app's own answer (to a read that failed under it) is dropped and the refusal sent instead."""
    refused: _Refused | None = None
    started = False

    async def checked() -> Message:
        nonlocal refused
        if refused is not None:  # the app asks again after its read failed: nothing more
            return {"type": "http.disconnect"}
        message = await receive()
        try:
            check(message.get("body", b""))
        except _Refused as exc:
            refused = exc
            raise
        return message

    async def guarded(message: Message) -> None:
        nonlocal started
        if refused is not None and not started:
            return
        started = started or message["type"] == "http.response.start"
        await send(message)

    try:
        await app(scope, checked, guarded)
    except Exception:
        if refused is None or started:
            raise
    if refused is not None and not started:
        await _refuse(scope, send, refused)


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: int, per_path: dict[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.per_path = per_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.per_path.get(scope["path"], self.max_bytes)
        too_large = _Refused(
            413, "Request body too large", f"bodies are limited to {limit} bytes here"
        )
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(scope, send, too_large)
            return
        seen = 0

        def count(chunk: bytes) -> None:
            nonlocal seen
            seen += len(chunk)
            if seen > limit:
                raise too_large

        await _run_checked(self.app, scope, receive, send, count)


# A `\u0000` escape: a backslash that is not itself escaped (an even run of backslashes before it).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
_FORM_NUL = re.compile(rb"%00|\x00")
_FORM = "application/x-www-form-urlencoded"


def _body_pattern(content_type: str) -> re.Pattern[bytes] | None:
    """How a NUL is written in a body of this type; None for types whose parser decides (the
    CSV import). FastAPI reads a body without a content type, or `application/*+json`, as JSON."""
    if content_type == _FORM:
        return _FORM_NUL
    if not content_type or content_type == "application/json":
        return _JSON_NUL
    if content_type.startswith("application/") and content_type.endswith("+json"):
        return _JSON_NUL
    return None


class RefuseNul:
    """400 for a NUL character (U+0000) in the path, the query string, or a form or JSON body.

    PostgreSQL text cannot hold U+0000, so a NUL reaching a query there fails the request with
    a 500 (while SQLite would store it). No parameter or field of this service means anything
    with one; refusing it here answers both engines alike, before any handler runs.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = scope.get("query_string", b"")
        if "\x00" in scope["path"] or b"%00" in query or b"\x00" in query:
            await _refuse(scope, send, _nul("the address"))
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1")
        pattern = _body_pattern(content_type.split(";")[0].strip().lower())
        if pattern is None:
            await self.app(scope, receive, send)
            return
        carry = b""  # the end of the previous chunk: an escape may straddle two

        def scan(chunk: bytes) -> None:
            nonlocal carry
            window = carry + chunk
            if pattern.search(window):
                raise _nul("the body")
            carry = window[-32:]

        await _run_checked(self.app, scope, receive, send, scan)


def _nul(where: str) -> _Refused:
    return _Refused(400, "Bad request", f"NUL characters (U+0000) are not accepted in {where}")


async def _empty_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}
