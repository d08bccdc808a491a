"""What the service runs on: engine, migration revision, data counts, and whether the database
answers at all."""

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import DATABASE_ERRORS, database_unavailable
from app.incidents.models import Observation
from app.policies.models import PolicyItem


async def health(session: AsyncSession) -> dict[str, object]:
    """The health report; `status` is "down" (and `database.state` "down", with the reason)
    when the database cannot be reached, which the router answers with a 503."""
    bind = session.get_bind()
    database: dict[str, object] = {"engine": bind.dialect.name, "driver": bind.dialect.driver}
    try:
        return await _report(session, database)
    except DATABASE_ERRORS as exc:
        reason = database_unavailable(exc)
        if reason is None:
            raise
        if session.in_transaction():
            await session.invalidate()  # the connection is gone: hand nothing back to the pool
        return {
            "status": "down",
            "database": {**database, "state": "down", "error": reason},
            "migration_revision": None,
            "counts": {},
        }


async def _report(session: AsyncSession, database: dict[str, object]) -> dict[str, object]:
    try:
        revision = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except DBAPIError as exc:
        if database_unavailable(exc):
            raise
        await session.rollback()  # no alembic_version table: not migrated yet
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
        "database": {**database, "state": "up"},
        "migration_revision": revision,
        "counts": counts,
    }
