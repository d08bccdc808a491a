"""Browser-facing safety for the HTML pages: security headers and a same-origin check on posts.

The headers are added by a pure ASGI middleware that looks only at responses whose content type
is text/html, so the JSON API is untouched. Paths that serve someone else's HTML are skipped:
FastAPI's /docs and /redoc load their scripts from a CDN and run inline code, and the API's own
`/summary?format=html` briefing carries an inline stylesheet; a strict policy would break both.
"""

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import NigranError

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}
SKIPPED = ("/api/", "/docs", "/redoc")


class SecurityHeaders:
    """Add HEADERS to every text/html response outside the skipped paths."""

    def __init__(self, app: ASGIApp, skip: tuple[str, ...] = SKIPPED) -> None:
        self.app = app
        self.skip = skip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.skip):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-type", "").startswith("text/html"):
                    for name, value in HEADERS.items():
                        headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class CrossSiteRequest(NigranError):
    status_code = 403
    title = "Forbidden"


def require_same_origin(request: Request) -> None:
    """Refuse a form post another site's page made the visitor's browser send.

    The pages have no cookie-based login, so there is no session to ride on; the check still
    keeps other sites from using the chat through their visitors. Browsers send
    `Sec-Fetch-Site` (trusted when present) and `Origin` on posts; a request with neither (curl,
    old browsers) is let through, as it cannot have come from another site's page.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        if fetch_site not in ("same-origin", "none"):
            raise CrossSiteRequest(f"cross-site form posts are refused ({fetch_site})")
        return
    origin = request.headers.get("origin")
    if origin is None:
        return
    # Compared with the Host header, not the scheme: behind a TLS proxy the app sees http.
    host = request.headers.get("host", "").lower()
    if origin == "null" or urlsplit(origin).netloc.lower() != host:
        raise CrossSiteRequest(f"form posts from {origin} are refused")


SameOrigin = Annotated[None, Depends(require_same_origin)]
