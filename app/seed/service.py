"""`nigran seed`: validate the files, then load them in one transaction."""

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from app.audit import service as audit
from app.core.db import get_engine, session_factory
from app.search import index as search_index
from app.seed.files import read_dataset
from app.seed.loader import LoadReport, load_dataset


async def seed_database(data_dir: Path, engine: AsyncEngine | None = None) -> LoadReport:
    data = read_dataset(data_dir)
    async with session_factory(engine)() as session, session.begin():
        report = await load_dataset(session, data)
        # Always: cheap (about 1,000 entries), and the index then follows the current code.
        await session.run_sync(search_index.rebuild)
        if report.changed:
            await audit.append(
                session,
                actor="seed",
                action="seed.load",
                target_type="dataset",
                target=str(data_dir.name),
                details={"created": dict(report.created), "updated": dict(report.updated)},
            )
    if engine is None:
        await get_engine().dispose()
    return report
