from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.core.config import get_settings
from app.core.db import SessionDep
from app.system import service

router = APIRouter(tags=["system"])


@router.get(
    "/health",
    summary="Database engine, migration revision and data counts",
    responses={503: {"description": "The database is down (`database.state`: down)."}},
)
async def health(session: SessionDep) -> JSONResponse:
    report = await service.health(session)
    if report["status"] == "down":
        retry = str(get_settings().db_retry_after_seconds)
        return JSONResponse(report, status_code=503, headers={"Retry-After": retry})
    return JSONResponse(report)
