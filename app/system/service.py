"""What the service runs on: engine, migration revision, data counts."""

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.incidents.models import Observation
from app.policies.models import PolicyItem


async def health(session: AsyncSession) -> dict[str, object]:
    bind = session.get_bind()
    try:
        revision = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except DBAPIError:
        await session.rollback()
        revision = None
    counts = {}
    if revision:
        counts = {
            "items": (await session.scalar(select(func.count()).select_from(PolicyItem))) or 0,
            "observations": (await session.scalar(select(func.count()).select_from(Observation)))
            or 0,
        }
    return {
        "status": "ok" if revision else "unmigrated",
        "database": {"engine": bind.dialect.name, "driver": bind.dialect.driver},
        "migration_revision": revision,
        "counts": counts,
    }
