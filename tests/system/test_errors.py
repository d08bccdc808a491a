"""Every refusal is application/problem+json naming the problem, never a 500."""

import pytest
from fastapi import APIRouter
from httpx import ASGITransport, AsyncClient
from pydantic import BaseModel, ConfigDict

from app.core.errors import PROBLEM_JSON
from app.main import create_app


def _assert_problem(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    body = response.json()
    assert body["status"] == status
    assert body["title"] and body["detail"]
    return body


@pytest.mark.parametrize(
    ("url", "status", "field"),
    [
        ("/api/v1/items?limit=not-a-number", 422, "query.limit"),
        ("/api/v1/items?limit=0", 422, "query.limit"),
        ("/api/v1/items?limit=100000", 422, "query.limit"),
        ("/api/v1/items?kind=manifesto", 422, "query.kind"),
        ("/api/v1/items?status=done", 422, "query.status"),
        ("/api/v1/stats?year=twenty", 422, "query.year"),
        ("/api/v1/stats?from=2023-13-45", 422, "query.from"),
    ],
)
async def test_wrong_query_parameters(
    client: AsyncClient, url: str, status: int, field: str
) -> None:
    body = _assert_problem(await client.get(url), status)
    assert field in [e["field"] for e in body["errors"]]


async def test_unknown_slug_is_404(client: AsyncClient) -> None:
    body = _assert_problem(await client.get("/api/v1/items/no-such-item-xyz"), 404)
    assert "no-such-item-xyz" in body["detail"]


async def test_forged_cursor_is_400(client: AsyncClient) -> None:
    body = _assert_problem(await client.get("/api/v1/items?cursor=not-ours"), 400)
    assert "cursor" in body["detail"]


async def test_unknown_route_and_method(client: AsyncClient) -> None:
    _assert_problem(await client.get("/api/v1/nowhere"), 404)
    _assert_problem(await client.delete("/api/v1/items"), 405)


class _StrictBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: str
    progress: int


@pytest.fixture
async def json_client() -> AsyncClient:
    """The real app and handlers, plus one JSON endpoint to exercise body validation."""
    app = create_app()
    probe = APIRouter()

    @probe.post("/api/v1/_probe")
    async def _probe(body: _StrictBody) -> dict[str, str]:
        return {"status": body.status}

    app.include_router(probe)
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as http:
        yield http


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ('{"status": "ok", "progress": 5', "body"),
        ('{"status": "ok", "progress": 5, "colour": "red"}', "body.colour"),
        ('{"status": "ok", "progress": "lots"}', "body.progress"),
        ('{"progress": 5}', "body.status"),
    ],
)
async def test_bad_json_bodies(json_client: AsyncClient, content: str, field: str) -> None:
    response = await json_client.post(
        "/api/v1/_probe", content=content, headers={"content-type": "application/json"}
    )
    body = _assert_problem(response, 422)
    assert any(e["field"].startswith(field) for e in body["errors"]), body
