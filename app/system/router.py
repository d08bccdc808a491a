from fastapi import APIRouter

from app.core.db import SessionDep
from app.system import service

router = APIRouter(tags=["system"])


@router.get("/health", summary="Database engine, migration revision and data counts")
async def health(session: SessionDep) -> dict[str, object]:
    return await service.health(session)
