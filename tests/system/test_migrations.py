"""The same migrations build, tear down and rebuild the schema on both engines."""

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import inspect

from app.core.db import make_engine, metadata
from tests.databases import Templates, drop_copy, migrate


def _tables(url: str) -> set[str]:
    async def read() -> set[str]:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    return asyncio.run(read())


@pytest.fixture
def scratch_url(templates: Templates, engine_name: str) -> Iterator[str]:
    """An empty-schema database of the engine under test, made by downgrading a copy."""
    url = asyncio.run(templates.copy(engine_name, templates.template(engine_name, "empty")))
    migrate(url, "base", down=True)
    yield url
    asyncio.run(drop_copy(url))


def test_upgrade_downgrade_upgrade_round_trip(scratch_url: str) -> None:
    assert _tables(scratch_url) <= {"alembic_version"}
    migrate(scratch_url)
    assert set(metadata.tables) <= _tables(scratch_url)
    migrate(scratch_url, "base", down=True)
    assert _tables(scratch_url) <= {"alembic_version"}
    migrate(scratch_url)
    assert set(metadata.tables) <= _tables(scratch_url)


def test_models_and_migrations_agree(templates: Templates, engine_name: str) -> None:
    """Autogenerate against a migrated database finds nothing: no model change lacks a revision."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.models import include_in_autogenerate

    url = asyncio.run(templates.copy(engine_name, templates.template(engine_name, "empty")))

    async def diff() -> list:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda c: compare_metadata(
                        MigrationContext.configure(
                            c,
                            opts={
                                "compare_type": True,
                                "include_object": include_in_autogenerate,
                            },
                        ),
                        metadata,
                    )
                )
        finally:
            await engine.dispose()

    try:
        assert asyncio.run(diff()) == []
    finally:
        asyncio.run(drop_copy(url))
