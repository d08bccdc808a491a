"""Real test databases on both engines, each test getting its own copy of a template.

A template is migrated (and, for the seeded flavour, seeded) once per run; each test then gets
a cheap copy: a file copy for SQLite, `CREATE DATABASE ... TEMPLATE` for PostgreSQL.
"""

import asyncio
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from app.core.config import PROJECT_ROOT, get_settings
from app.core.db import make_engine
from app.seed.service import seed_database

POSTGRES_URL = os.environ.get(
    "NIGRAN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def migrate(url: str, revision: str = "head", *, down: bool = False) -> None:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["database_url"] = url
    config.attributes["configure_logging"] = False
    (command.downgrade if down else command.upgrade)(config, revision)


FIXTURE_DATA = Path(__file__).parent / "fixtures" / "policy_data"
DATA_SETS = {"empty": None, "full": get_settings().policy_data_dir, "mini": FIXTURE_DATA}


def _seed(url: str, data_dir: Path) -> None:
    async def run() -> None:
        engine = make_engine(url)
        try:
            await seed_database(data_dir, engine)
        finally:
            await engine.dispose()

    asyncio.run(run())


def postgres_unavailable_reason() -> str | None:
    async def probe() -> None:
        conn = await asyncpg.connect(_dsn(POSTGRES_URL), timeout=5)
        await conn.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {POSTGRES_URL} is not reachable ({exc.__class__.__name__}: {exc})"
    return None


def _dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_dsn(POSTGRES_URL))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@dataclass
class Templates:
    """Lazily built templates: (engine, data set) -> sqlite file path or postgres database name."""

    workdir: Path
    run_id: str = uuid.uuid4().hex[:8]

    def __post_init__(self) -> None:
        self.built: dict[tuple[str, str], str] = {}

    def template(self, engine: str, data_set: str) -> str:
        key = (engine, data_set)
        if key not in self.built:
            name = f"nigran_tpl_{self.run_id}_{data_set}"
            if engine == "sqlite":
                path = self.workdir / f"{name}.db"
                url = f"sqlite+aiosqlite:///{path}"
                self.built[key] = str(path)
            else:
                asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}"'))
                asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
                url = (
                    make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
                )
                self.built[key] = name
            migrate(url)
            if DATA_SETS[data_set]:
                _seed(url, DATA_SETS[data_set])
        return self.built[key]

    async def copy(self, engine: str, template: str) -> str:
        """A new database copied from a built template; returns its URL."""
        name = f"nigran_t_{uuid.uuid4().hex[:12]}"
        if engine == "sqlite":
            target = self.workdir / f"{name}.db"
            shutil.copyfile(template, target)
            return f"sqlite+aiosqlite:///{target}"
        await _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        for (engine, _), name in self.built.items():
            if engine == "postgresql":
                asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def drop_copy(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        await _admin(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
    elif parsed.database:
        Path(parsed.database).unlink(missing_ok=True)
