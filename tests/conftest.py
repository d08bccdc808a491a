"""Fixtures: every database test runs on SQLite and on PostgreSQL, each on its own database."""

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.db import make_engine, session_factory
from app.main import create_app
from tests.databases import Templates, drop_copy, postgres_unavailable_reason

ENGINES = ["sqlite", "postgresql"]
_postgres_skip: list[str] = []


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    built = Templates(tmp_path_factory.mktemp("databases"))
    yield built
    built.drop_all()


@pytest.fixture(scope="session")
def postgres_reason() -> str | None:
    return postgres_unavailable_reason()


@pytest.fixture(params=ENGINES)
def engine_name(request: pytest.FixtureRequest, postgres_reason: str | None) -> str:
    if request.param == "postgresql" and postgres_reason:
        if not _postgres_skip:
            _postgres_skip.append(postgres_reason)
        pytest.skip(f"POSTGRESQL HALF SKIPPED: {postgres_reason}")
    return request.param


@dataclass
class Database:
    name: str
    url: str
    engine: AsyncEngine

    def session(self) -> AsyncSession:
        return session_factory(self.engine)()


@pytest.fixture
def empty_template(templates: Templates, engine_name: str) -> str:
    return templates.template(engine_name, "empty")


@pytest.fixture
def seeded_template(templates: Templates, engine_name: str) -> str:
    return templates.template(engine_name, "full")


@pytest.fixture
def mini_template(templates: Templates, engine_name: str) -> str:
    return templates.template(engine_name, "mini")


async def _database(
    templates: Templates, engine_name: str, template: str
) -> AsyncIterator[Database]:
    url = await templates.copy(engine_name, template)
    engine = make_engine(url)
    try:
        yield Database(engine_name, url, engine)
    finally:
        await engine.dispose()
        await drop_copy(url)


@pytest.fixture
async def empty_db(
    templates: Templates, engine_name: str, empty_template: str
) -> AsyncIterator[Database]:
    """A migrated database with no data."""
    async for db in _database(templates, engine_name, empty_template):
        yield db


@pytest.fixture
async def seeded_db(
    templates: Templates, engine_name: str, seeded_template: str
) -> AsyncIterator[Database]:
    """A migrated database holding the whole of policy_data/."""
    async for db in _database(templates, engine_name, seeded_template):
        yield db


@pytest.fixture
async def mini_db(
    templates: Templates, engine_name: str, mini_template: str
) -> AsyncIterator[Database]:
    """A migrated database holding the three items of tests/fixtures/policy_data."""
    async for db in _database(templates, engine_name, mini_template):
        yield db


def _client_for(db: Database) -> AsyncClient:
    app = create_app(db.engine)
    return AsyncClient(transport=ASGITransport(app=app), base_url="http://test")


@pytest.fixture
async def client(seeded_db: Database) -> AsyncIterator[AsyncClient]:
    async with _client_for(seeded_db) as http:
        yield http


@pytest.fixture
async def mini_client(mini_db: Database) -> AsyncIterator[AsyncClient]:
    async with _client_for(mini_db) as http:
        yield http


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _postgres_skip:
        terminalreporter.write_sep("!", "POSTGRESQL TESTS WERE SKIPPED", red=True, bold=True)
        terminalreporter.write_line(_postgres_skip[0], red=True)
    browser_skips = [  # tests/web/conftest.py skips with "BROWSER TESTS SKIPPED: <reason>"
        report.longrepr[2]
        for report in terminalreporter.stats.get("skipped", [])
        if isinstance(report.longrepr, tuple) and "BROWSER TESTS SKIPPED" in report.longrepr[2]
    ]
    if browser_skips:
        terminalreporter.write_sep("!", "BROWSER TESTS WERE SKIPPED", red=True, bold=True)
        terminalreporter.write_line(browser_skips[0].removeprefix("Skipped: "), red=True)
