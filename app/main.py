"""The ASGI application: routers mounted under /api/v1, one error handler."""

from fastapi import FastAPI

from app.core.errors import install_error_handlers
from app.incidents.router import router as incidents_router
from app.policies.router import router as policies_router
from app.system.router import router as system_router

API_PREFIX = "/api/v1"


def create_app() -> FastAPI:
    app = FastAPI(
        title="Nigran",
        summary="Tracking Pakistan's counter-terrorism and counter-extremism policy.",
        version="0.1.0",
    )
    install_error_handlers(app)
    for router in (system_router, policies_router, incidents_router):
        app.include_router(router, prefix=API_PREFIX)
    return app


app = create_app()
