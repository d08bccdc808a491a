"""Rate limits on both backends: process memory (bounded) and Redis (shared by workers).

Every test taking `backend` runs twice, "memory" and "redis". The Redis half needs a server at
NIGRAN_TEST_REDIS_URL (default redis://127.0.0.1:6379/0) and is skipped, with a reason starting
"REDIS HALF SKIPPED", where none answers. Each test writes under its own key prefix and
deletes it at the end. The HTTP tests also run on SQLite and PostgreSQL (tests/conftest.py).
"""

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from httpx import AsyncClient
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy.engine import make_url

from app.accounts import auth
from app.accounts.models import Role
from app.accounts.service import create_key
from app.core.config import PROJECT_ROOT, Settings, get_settings
from app.core.ratelimit import BoundedMemoryStorage, RateLimiter, RedisWindows, TooManyRequests
from app.tracking import router as tracking_router
from tests.conftest import Database
from tests.databases import Templates
from tests.tracking.conftest import EVIDENCE, bearer, status_body

REDIS_URL = os.environ.get("NIGRAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
FORGED = bearer("ngr_000000000000_not-a-real-secret")
APP_LIMITERS = (auth.failed_auth, auth.writes, tracking_router.corrections_limit)


def _redis_unavailable_reason() -> str | None:
    try:
        with Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2) as client:
            client.ping()
    except (RedisError, OSError) as exc:
        return f"Redis at {REDIS_URL} is not reachable ({exc.__class__.__name__}: {exc})"
    return None


@pytest.fixture(scope="session")
def redis_reason() -> str | None:
    return _redis_unavailable_reason()


def _delete_prefix(prefix: str) -> int:
    with Redis.from_url(REDIS_URL) as client:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        return client.delete(*keys) if keys else 0


@dataclass
class Backend:
    """Where a test's limiters count: "memory", or Redis under a prefix of the test's own."""

    name: str
    prefix: str = field(default_factory=lambda: f"nigran:rl:test-{uuid.uuid4().hex[:12]}")
    links: list[RedisWindows] = field(default_factory=list)

    def windows(self, url: str = REDIS_URL) -> RedisWindows | None:
        """A new link to Redis, as one worker process holds (None on the memory backend)."""
        if self.name == "memory":
            return None
        link = RedisWindows(url, self.prefix)
        self.links.append(link)
        return link

    def limiter(self, limit: int = 3, window: float = 60, name: str = "test") -> RateLimiter:
        return RateLimiter(limit, window, "test calls", name=name, redis=self.windows())

    def redis_keys(self) -> list[str]:
        with Redis.from_url(REDIS_URL, decode_responses=True) as client:
            return sorted(client.scan_iter(match=f"{self.prefix}:*"))


async def _backend(name: str, redis_reason: str | None) -> AsyncIterator[Backend]:
    if name == "redis" and redis_reason:
        pytest.skip(f"REDIS HALF SKIPPED: {redis_reason}")
    chosen = Backend(name)
    yield chosen
    for link in chosen.links:
        await link.aclose()
    if chosen.name == "redis":
        _delete_prefix(chosen.prefix)
        assert chosen.redis_keys() == []


@pytest.fixture(params=["memory", "redis"])
async def backend(
    request: pytest.FixtureRequest, redis_reason: str | None
) -> AsyncIterator[Backend]:
    async for chosen in _backend(request.param, redis_reason):
        yield chosen


@pytest.fixture
async def redis_backend(redis_reason: str | None) -> AsyncIterator[Backend]:
    """For what only Redis has (key names, expiry, recovery)."""
    async for chosen in _backend("redis", redis_reason):
        yield chosen


@pytest.fixture
def app_limiters(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    """The app's own three limiters on `backend`, as one worker process: one Redis link."""
    link = backend.windows()
    for limiter in APP_LIMITERS:
        monkeypatch.setattr(limiter, "redis", link)
        limiter.reset()
    yield backend
    for limiter in APP_LIMITERS:
        limiter.memory.clear_all()


class Clock:
    """A settable time.time() for the memory windows (limits and ours both read time.time)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = 1_750_000_000.0
        monkeypatch.setattr(time, "time", lambda: self.now)


# The limiter on its own ---------------------------------------------------------------------


async def test_hit_counts_and_then_refuses_with_retry_after(backend: Backend) -> None:
    limiter = backend.limiter(limit=3, window=60)
    for _ in range(3):
        await limiter.hit("203.0.113.5")
    with pytest.raises(TooManyRequests) as refused:
        await limiter.hit("203.0.113.5")
    assert 1 <= refused.value.extra["retry_after"] <= 61
    assert "at most 3 per 60 s" in refused.value.detail
    with pytest.raises(TooManyRequests):
        await limiter.check("203.0.113.5")
    await limiter.hit("203.0.113.6")  # another key has its own window


async def test_check_refuses_without_counting(backend: Backend) -> None:
    limiter = backend.limiter(limit=3)
    for _ in range(10):
        await limiter.check("198.51.100.7")
    for _ in range(3):
        await limiter.record("198.51.100.7")
    with pytest.raises(TooManyRequests):
        await limiter.check("198.51.100.7")
    await limiter.record("198.51.100.7")  # recording past the limit never raises


async def test_two_workers_share_windows_through_redis_only(backend: Backend) -> None:
    """Two limiter instances, each with its own storage link, stand in for two processes."""
    first, second = backend.limiter(limit=4), backend.limiter(limit=4)
    for _ in range(2):
        await first.record("192.0.2.1")
        await second.record("192.0.2.1")
    if backend.name == "redis":  # 2 + 2: the allowance is used up for both
        for worker in (first, second):
            with pytest.raises(TooManyRequests):
                await worker.hit("192.0.2.1")
    else:  # each process counted its own 2 of 4: memory limits are per process
        for worker in (first, second):
            await worker.hit("192.0.2.1")
            await worker.hit("192.0.2.1")
            with pytest.raises(TooManyRequests):
                await worker.hit("192.0.2.1")


async def test_reset_clears_this_limiter_only_sync_or_awaited(backend: Backend) -> None:
    limiter, neighbour = backend.limiter(limit=1, name="a"), backend.limiter(limit=1, name="b")
    await limiter.hit("k")
    await neighbour.hit("k")
    limiter.reset()  # from a sync fixture
    await limiter.hit("k")
    await limiter.reset()  # or awaited
    await limiter.hit("k")
    await limiter.areset()
    await limiter.hit("k")
    with pytest.raises(TooManyRequests):
        await neighbour.hit("k")
    if backend.name == "redis":
        assert backend.redis_keys() == [
            f"{backend.prefix}:a/k/1/60/second",
            f"{backend.prefix}:b/k/1/60/second",
        ]
        other = RedisWindows(REDIS_URL, f"{backend.prefix}-other")
        outsider = RateLimiter(1, 60, "test calls", name="a", redis=other)
        await outsider.hit("k")
        limiter.reset()
        assert f"{backend.prefix}-other:a/k/1/60/second" in other_keys(backend)
        outsider.reset()
        assert other_keys(backend) == []
        await other.aclose()


def other_keys(backend: Backend) -> list[str]:
    with Redis.from_url(REDIS_URL, decode_responses=True) as client:
        return sorted(client.scan_iter(match=f"{backend.prefix}-other:*"))


async def test_redis_keys_carry_the_prefix_and_expire_with_their_window(
    redis_backend: Backend,
) -> None:
    backend = redis_backend
    per_minute, per_hour = backend.limiter(10, 60, "fa"), backend.limiter(5, 3600, "fix")
    await per_minute.record("2001:db8::1")
    await per_hour.hit("2001:db8::1")
    with Redis.from_url(REDIS_URL, decode_responses=True) as client:
        minute_key = f"{backend.prefix}:fa/2001:db8::1/10/60/second"
        hour_key = f"{backend.prefix}:fix/2001:db8::1/5/3600/second"
        assert backend.redis_keys() == sorted([minute_key, hour_key])
        assert 55 <= client.ttl(minute_key) <= 60
        assert 3595 <= client.ttl(hour_key) <= 3600
        assert client.llen(minute_key) == 1


# Memory bounds -------------------------------------------------------------------------------


async def test_memory_stays_bounded_under_100000_addresses() -> None:
    cap = get_settings().rate_limit_memory_keys
    limiter = RateLimiter(10, 60, "failed authentications", name="flood", redis=None)
    addresses = [f"10.{i >> 16}.{(i >> 8) & 255}.{i & 255}" for i in range(100_000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for address in addresses:  # a check alone stores nothing: only records can grow it
            await limiter.record(address)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    storage = limiter.memory
    assert len(storage.events) == len(storage.newest) == cap
    assert storage.evicted == 100_000 - cap
    assert not storage.locks
    assert set(storage.newest) == {f"flood/{a}/10/60/second" for a in addresses[-cap:]}
    assert held < cap * 1_000, f"{held / 1e6:.1f} MB for {cap} keys"  # measured: ~480 B a key
    for _ in range(9):  # the newest address still has its window: one hit so far, nine more
        await limiter.record(addresses[-1])
    with pytest.raises(TooManyRequests):
        await limiter.check(addresses[-1])


async def test_memory_drops_expired_keys_and_cuts_each_list_to_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock(monkeypatch)
    limiter = RateLimiter(5, 60, "test calls", name="t", redis=None, max_keys=1_000)
    for _ in range(600 * 3):  # one key hammered for ten minutes, five allowed a minute
        clock.now += 1 / 3
        with contextlib.suppress(TooManyRequests):
            await limiter.hit("busy")
    assert len(limiter.memory.events["t/busy/5/60/second"]) == 5
    for i in range(50):
        await limiter.record(f"once-{i}")
    clock.now += 61  # all of them leave the window; the next hit drops them
    await limiter.record("late")
    assert list(limiter.memory.newest) == ["t/late/5/60/second"]
    assert limiter.memory.evicted == 0  # expired, not evicted
    assert limiter.memory.timer is None  # the base class's per-key sweep never started


def test_redis_urls_are_read_in_every_form_and_logged_without_password() -> None:
    for given, plain in [
        ("redis://:s3cret@cache:6380/2", "redis://:s3cret@cache:6380/2"),
        ("async+redis://:s3cret@cache:6380/2", "redis://:s3cret@cache:6380/2"),
        ("unix:///run/redis.sock?db=1", "unix:///run/redis.sock?db=1"),
        ("async+redis+unix:///run/redis.sock?db=1", "unix:///run/redis.sock?db=1"),
    ]:
        link = RedisWindows(given, "p")
        assert link.url == plain
        assert "s3cret" not in link.where
    assert RedisWindows("redis://:s3cret@cache:6380/2", "p").where == "redis://cache:6380/2"
    assert Settings(redis_url="rediss://cache:6380/0").redis_url == "rediss://cache:6380/0"
    with pytest.raises(ValueError, match="NIGRAN_REDIS_URL"):
        Settings(redis_url="http://cache:6379")


def test_memory_storage_needs_room_for_a_key() -> None:
    with pytest.raises(ValueError):
        BoundedMemoryStorage(0)


# Over HTTP -----------------------------------------------------------------------------------


async def test_failed_authentication_gets_429_with_retry_after(
    app_limiters: Backend, mini_client: AsyncClient
) -> None:
    limit = get_settings().failed_auth_per_minute
    codes = [
        (await mini_client.get("/api/v1/review-queue", headers=FORGED)).status_code
        for _ in range(limit)
    ]
    assert codes == [401] * limit
    refused = await mini_client.get("/api/v1/review-queue", headers=FORGED)
    assert refused.status_code == 429
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(refused.headers["retry-after"]) <= 61
    body = refused.json()
    assert body["status"] == 429 and body["retry_after"] == int(refused.headers["retry-after"])
    if app_limiters.name == "redis":
        assert app_limiters.redis_keys() == [
            f"{app_limiters.prefix}:failed-auth/127.0.0.1/{limit}/60/second"
        ]


async def test_public_corrections_get_429(app_limiters: Backend, mini_client: AsyncClient) -> None:
    correction = {"message": "The approval date is wrong.", "evidence": EVIDENCE}
    limit = get_settings().corrections_per_hour
    for _ in range(limit):
        response = await mini_client.post("/api/v1/items/test-plan/corrections", json=correction)
        assert response.status_code == 201, response.text
    refused = await mini_client.post("/api/v1/items/test-plan/corrections", json=correction)
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 3601


async def test_writes_per_key_get_429(
    app_limiters: Backend,
    mini_client: AsyncClient,
    mini_db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(auth.writes, "limit", 2)
    async with mini_db.session() as session, session.begin():
        key = (await create_key(session, name="limited monitor", role=Role.MONITOR)).key
    path = "/api/v1/items/test-plan/status-updates"
    for _ in range(2):
        response = await mini_client.post(path, json=status_body(), headers=bearer(key))
        assert response.status_code == 201, response.text
    refused = await mini_client.post(path, json=status_body(), headers=bearer(key))
    assert refused.status_code == 429
    assert "too many writes" in refused.json()["detail"]
    assert (
        await mini_client.get("/api/v1/items/test-plan", headers=bearer(key))
    ).status_code == 200


async def test_redis_down_still_serves_and_limits_in_memory(
    mini_client: AsyncClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = RedisWindows(f"redis://127.0.0.1:{port}/0", "nigran:rl:test-down", retry_seconds=60)
    for limiter in APP_LIMITERS:
        monkeypatch.setattr(limiter, "redis", down)
        limiter.reset()  # cannot reach Redis either: logged, not raised
    try:
        with caplog.at_level(logging.WARNING, logger="nigran.ratelimit"):
            assert (await mini_client.get("/api/v1/items/test-plan")).status_code == 200
            limit = get_settings().failed_auth_per_minute
            for _ in range(limit):
                response = await mini_client.get("/api/v1/review-queue", headers=FORGED)
                assert response.status_code == 401
            refused = await mini_client.get("/api/v1/review-queue", headers=FORGED)
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) >= 1
            correction = {"message": "The approval date is wrong.", "evidence": EVIDENCE}
            response = await mini_client.post(
                "/api/v1/items/test-plan/corrections", json=correction
            )
            assert response.status_code == 201
    finally:
        for limiter in APP_LIMITERS:
            limiter.memory.clear_all()
    failures = [r for r in caplog.records if "counting in this process's memory" in r.message]
    assert len(failures) == 1  # one warning, then Redis is left alone for retry_seconds
    assert down.failures == 1
    assert f"127.0.0.1:{port}" in failures[0].message


async def test_redis_comes_back_after_the_retry_period(
    redis_backend: Backend, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = redis_backend
    link = backend.windows()
    assert link is not None
    limiter = RateLimiter(3, 60, "test calls", name="back", redis=link)
    link.failed(ConnectionError("simulated outage"))
    await limiter.hit("k")  # counted in memory: Redis is not asked during the retry period
    assert backend.redis_keys() == []
    monkeypatch.setattr(link, "down_until", 0.0)
    with caplog.at_level(logging.INFO, logger="nigran.ratelimit"):
        await limiter.hit("k")
    assert backend.redis_keys() == [f"{backend.prefix}:back/k/3/60/second"]
    assert any("answers again" in r.message for r in caplog.records)


# Two real server processes -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_healthy(base: str, process: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{log.read_text()}")
        try:
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)  # polling the server's start, not pacing a test
    pytest.fail(f"the server did not answer /api/v1/health in {timeout:.0f} s:\n{log.read_text()}")


@pytest.fixture(params=["memory", "redis"])
def two_servers(
    request: pytest.FixtureRequest,
    redis_reason: str | None,
    templates: Templates,
    tmp_path: Path,
) -> Iterator[tuple[str, list[str]]]:
    """Two `uvicorn app.main:app` processes on one SQLite file, with or without one Redis."""
    if request.param == "redis" and redis_reason:
        pytest.skip(f"REDIS HALF SKIPPED: {redis_reason}")
    url = asyncio.run(templates.copy("sqlite", templates.template("sqlite", "mini")))
    prefix = f"nigran:rl:test-{uuid.uuid4().hex[:12]}"
    env = {**os.environ, "DATABASE_URL": url, "NIGRAN_CHAT_PROVIDER_BASE_URL": ""}
    env.pop("NIGRAN_REDIS_URL", None)
    if request.param == "redis":
        env |= {"NIGRAN_REDIS_URL": REDIS_URL, "NIGRAN_RATE_LIMIT_PREFIX": prefix}
    started: list[tuple[subprocess.Popen, str, Path]] = []
    try:
        for n in range(2):
            base = f"http://127.0.0.1:{_free_port()}"
            log = tmp_path / f"uvicorn-{n}.log"
            command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
            command += ["--port", base.rsplit(":", 1)[1], "--log-level", "warning"]
            with log.open("wb") as out:
                process = subprocess.Popen(
                    command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
                )
            started.append((process, base, log))
        for process, base, log in started:
            _wait_healthy(base, process, log)
        yield request.param, [base for _, base, _ in started]
    finally:
        for process, _, _ in started:
            process.terminate()
        for process, _, _ in started:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if request.param == "redis":
            _delete_prefix(prefix)
        database = make_url(url).database
        if database:
            Path(database).unlink(missing_ok=True)


def test_failed_auth_limit_holds_across_two_server_processes(
    two_servers: tuple[str, list[str]],
) -> None:
    backend, (first, second) = two_servers
    limit = get_settings().failed_auth_per_minute
    half = limit // 2
    with httpx.Client(base_url=first) as a, httpx.Client(base_url=second) as b:

        def fail(client: httpx.Client) -> httpx.Response:
            return client.get("/api/v1/review-queue", headers=FORGED)

        assert [fail(a).status_code for _ in range(half)] == [401] * half
        assert [fail(b).status_code for _ in range(limit - half)] == [401] * (limit - half)
        if backend == "redis":  # both processes counted into one window: both refuse now
            for client in (a, b):
                refused = fail(client)
                assert refused.status_code == 429, refused.text
                assert int(refused.headers["retry-after"]) >= 1
        else:  # each process counted only its own share: memory limits are per process
            assert [fail(b).status_code for _ in range(half)] == [401] * half
            assert fail(b).status_code == 429
            assert fail(a).status_code == 401
