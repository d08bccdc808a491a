"""The ASGI application: routers mounted under /api/v1, one error handler, request limits."""

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.accounts.router import router as accounts_router
from app.audit.router import router as audit_router
from app.core.config import get_settings
from app.core.errors import install_error_handlers
from app.core.limits import BodySizeLimit
from app.incidents.router import router as incidents_router
from app.policies.router import router as policies_router
from app.reports.router import router as reports_router
from app.system.router import router as system_router
from app.timeline.router import router as timeline_router
from app.tracking.router import router as tracking_router

API_PREFIX = "/api/v1"


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        title="Nigran",
        summary="Tracking Pakistan's counter-terrorism and counter-extremism policy.",
        version="0.1.0",
    )
    install_error_handlers(app)
    for router in (
        system_router,
        policies_router,
        tracking_router,
        timeline_router,
        reports_router,
        incidents_router,
        audit_router,
        accounts_router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH"],
            allow_headers=["Authorization", "Content-Type", "If-Match", "Idempotency-Key"],
            expose_headers=["ETag"],
        )
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        per_path={f"{API_PREFIX}/incidents/import": settings.max_import_bytes},
    )
    return app


app = create_app()
