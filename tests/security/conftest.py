"""Hostile-input fixtures: the seeded app on each engine, keys of every role, and a client that
turns an unhandled exception into the 500 a real client would see (instead of re-raising it
into the test), so a sweep can count every 5xx rather than stop at the first."""

from collections.abc import AsyncIterator, Iterator

import pytest
from httpx import ASGITransport, AsyncClient, Response

from app.accounts import auth
from app.accounts.models import Role
from app.accounts.service import create_key
from app.core.errors import PROBLEM_JSON
from app.main import create_app
from app.tracking import router as tracking_router
from tests.conftest import Database


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """Rate limits live in process memory; each test starts with clean windows."""
    for limiter in (auth.failed_auth, auth.writes, tracking_router.corrections_limit):
        limiter.reset()
    yield


@pytest.fixture
async def keys(seeded_db: Database) -> dict[str, str]:
    """A fresh key of every role in the seeded database: role -> full key."""
    async with seeded_db.session() as session, session.begin():
        return {
            role.value: (await create_key(session, name=f"security {role}", role=role)).key
            for role in Role
        }


@pytest.fixture
async def hostile(seeded_db: Database) -> AsyncIterator[AsyncClient]:
    """The app over the seeded database; a crash answers 500 instead of raising."""
    app = create_app(seeded_db.engine)
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def is_problem(response: Response) -> bool:
    """An RFC 9457 body naming its status, title and detail."""
    if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
        return False
    body = response.json()
    return body.get("status") == response.status_code and bool(body.get("title"))


def assert_problem(response: Response, *statuses: int) -> dict:
    assert response.status_code in statuses, (response.status_code, response.text[:500])
    assert is_problem(response), (response.headers.get("content-type"), response.text[:500])
    return response.json()
