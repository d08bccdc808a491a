"""The ASGI application: routers mounted under /api/v1, one error handler, request limits."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine

from app.accounts.router import router as accounts_router
from app.audit.router import router as audit_router
from app.chat import engine as chat_engine
from app.chat.router import router as chat_router
from app.core.cache import ResponseCache, data_version_for
from app.core.config import get_settings
from app.core.db import get_sessionmaker, session_factory
from app.core.errors import install_error_handlers
from app.core.limits import BodySizeLimit, RefuseNul
from app.core.openapi import install_openapi
from app.core.responses import HeadAsGet
from app.incidents.router import router as incidents_router
from app.policies.router import router as policies_router
from app.reports.router import router as reports_router
from app.search.router import router as search_router
from app.system.router import router as system_router
from app.timeline.router import router as timeline_router
from app.tracking.router import router as tracking_router
from app.web.review import router as review_router
from app.web.router import install as install_pages
from app.web.session import session_middleware

API_PREFIX = "/api/v1"
log = logging.getLogger("nigran")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Answer one search and one question in-process before serving: FastAPI builds its routes,
    search its vocabulary and the chat its statistics on first use, which would otherwise land
    on the first visitor."""
    try:
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://warm-up") as c:
            await c.get(f"{API_PREFIX}/search", params={"q": "national action plan"})
            await c.get(f"{API_PREFIX}/chat/conversations/{'0' * 32}")  # a 404: builds the routes
        async with session_factory()() as session:  # the chat's statistics, without a write
            await chat_engine.answer(session, "How many attacks were there in 2023?")
    except Exception as exc:  # a missing or unmigrated database must not stop the server
        log.warning("warm-up skipped: %s", exc)
    yield
    if app.state.data_version is not None:
        await app.state.data_version.close()


def create_app(engine: AsyncEngine | None = None) -> FastAPI:
    """The app on the configured database, or on `engine` (tests, benchmarks)."""
    settings = get_settings()
    app = FastAPI(
        title="Nigran",
        summary="Tracking Pakistan's counter-terrorism and counter-extremism policy.",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    if engine is not None:
        app.dependency_overrides[get_sessionmaker] = lambda: session_factory(engine)
    for router in (
        system_router,
        policies_router,
        tracking_router,
        timeline_router,
        reports_router,
        incidents_router,
        search_router,
        chat_router,
        audit_router,
        accounts_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    install_pages(app)  # HTML pages at /, their stylesheet at /static
    app.include_router(review_router)  # sign-in, propose and review pages
    install_openapi(app)  # every operation's error responses, documented from its route
    session_cls, session_options = session_middleware()
    app.add_middleware(session_cls, **session_options)  # the pages' signed sign-in cookie
    url = engine.url.render_as_string(hide_password=False) if engine else settings.database_url
    version = data_version_for(url) if settings.cache else None
    app.state.data_version = version
    if version is not None:
        app.add_middleware(
            ResponseCache,
            version=version,
            max_bytes=settings.cache_megabytes * 1024 * 1024,
            max_entry_bytes=4 * 1024 * 1024,
            cache_control=settings.cache_control,
        )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
            expose_headers=["ETag"],
        )
    app.add_middleware(HeadAsGet)
    app.add_middleware(RefuseNul)  # inside the size limit: a body is scanned only if it may be read
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        per_path={f"{API_PREFIX}/incidents/import": settings.max_import_bytes},
    )
    return app


app = create_app()
