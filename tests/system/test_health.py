from alembic.config import Config
from alembic.script import ScriptDirectory
from httpx import AsyncClient

from app.core.config import PROJECT_ROOT
from tests.conftest import Database


async def test_health_names_engine_and_revision(client: AsyncClient, seeded_db: Database) -> None:
    response = await client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["database"]["engine"] == seeded_db.name
    head = ScriptDirectory.from_config(Config(str(PROJECT_ROOT / "alembic.ini"))).get_current_head()
    assert body["migration_revision"] == head
    assert body["status"] == "ok"


async def test_openapi_docs_are_served(client: AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    assert "/api/v1/items" in schema["paths"]
