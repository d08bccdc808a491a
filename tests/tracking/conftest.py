"""Keys of every role (plus a revoked and an expired one) in the mini data set."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import update

from app.accounts import auth
from app.accounts.models import ApiKey, Role
from app.accounts.service import create_key, revoke_key
from app.core.time import utcnow
from app.tracking import router as tracking_router
from tests.conftest import Database


@pytest.fixture(autouse=True)
def fresh_rate_limits() -> Iterator[None]:
    """Rate limits live in process memory; each test starts with clean windows."""
    for limiter in (auth.failed_auth, auth.writes, tracking_router.corrections_limit):
        limiter.reset()
    yield


@pytest.fixture
async def keys(mini_db: Database) -> dict[str, str]:
    issued: dict[str, str] = {}
    async with mini_db.session() as session, session.begin():
        for role in Role:
            issued[role.value] = (await create_key(session, name=f"test {role}", role=role)).key
        revoked = await create_key(session, name="revoked reviewer", role=Role.REVIEWER)
        await revoke_key(session, prefix=revoked.prefix)
        issued["revoked"] = revoked.key
        expired = await create_key(session, name="expired reviewer", role=Role.REVIEWER)
        await session.execute(
            update(ApiKey)
            .where(ApiKey.prefix == expired.prefix)
            .values(expires_at=utcnow() - timedelta(days=1))
        )
        issued["expired"] = expired.key
    return issued


def bearer(key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"} if key else {}


EVIDENCE = [
    {"url": "https://example.org/report", "title": "Provincial report", "published": "2025-01-10"}
]


def status_body(status: str = "implemented", **extra: object) -> dict[str, object]:
    return {
        "status": status,
        "note": "Confirmed by the provincial home department.",
        "effective_date": "2025-01-15",
        "evidence": EVIDENCE,
        **extra,
    }


async def propose(client: AsyncClient, key: str, slug: str = "test-plan", **extra: object) -> dict:
    response = await client.post(
        f"/api/v1/items/{slug}/status-updates", json=status_body(**extra), headers=bearer(key)
    )
    assert response.status_code == 201, response.text
    return response.json()
