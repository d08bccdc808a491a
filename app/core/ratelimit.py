"""Sliding-window rate limits, shared by every worker through Redis, else kept in process memory.

Built on the `limits` library's moving window: an exact log of hit times per key, refused once
`limit` hits fall inside the last `window` seconds (the semantics of the earlier in-process
version). Where the windows live:

- `NIGRAN_REDIS_URL` set: in Redis, under `<NIGRAN_RATE_LIMIT_PREFIX>:<limiter>/<key>/...`, so
  every worker process (and every machine on that Redis) counts together. A key's list holds
  at most `limit` timestamps and expires with its window.
- unset: in this process's memory (`BoundedMemoryStorage`: at most
  `NIGRAN_RATE_LIMIT_MEMORY_KEYS` keys per limiter). Each worker then counts alone, so with
  N workers a client may get up to N times the allowance.
- Redis unreachable or failing: the call is counted in this process's memory instead and a
  warning is logged; Redis is left alone for `NIGRAN_REDIS_RETRY_SECONDS`, then tried again.
  An outage never fails a request, it only makes the limits per-process while it lasts.
"""

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Generator
from functools import lru_cache
from typing import Literal, TypeVar
from urllib.parse import urlsplit

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import ConfigurationError, StorageError
from redis import Redis as SyncRedis
from redis.asyncio import BlockingConnectionPool
from redis.asyncio import Redis as AsyncRedis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry as SyncRetry

from app.core.config import get_settings
from app.core.errors import NigranError

log = logging.getLogger("nigran.ratelimit")
T = TypeVar("T")

# What a failing Redis raises: refused or dropped connections and timeouts (RedisError
# subclasses), errors the server answers with (OOM, READONLY), and whatever `limits` wraps.
REDIS_FAILURES = (RedisError, StorageError, ConfigurationError, OSError, TimeoutError)
# Connections one process keeps to Redis. A call holds one for ~0.1 ms; beyond this many at
# once, calls wait (up to the timeout) for a free one instead of failing as redis-py's default
# pool does past 100 (which would read as an outage).
REDIS_CONNECTIONS = 50


class TooManyRequests(NigranError):
    status_code = 429
    title = "Too many requests"


class BoundedMemoryStorage(MemoryStorage):
    """`limits`' MemoryStorage for the moving window, with its memory bounded.

    The base class keeps a key until a background sweep drops it after its window, and nothing
    caps how many keys there are: measured, 100,000 distinct addresses hold 47 MB, and one sweep
    over them (a thread hop per key) takes 13 s. Here instead:

    - at most `max_keys` keys are kept; a new key beyond that evicts the least recently counted
      one, whose window starts again empty if it comes back (counted in `evicted`);
    - keys whose newest hit has left the window are dropped as later hits arrive (the keys are
      kept in the order of their newest hit, so the expired ones are always at the front);
    - a key's list is cut to its limit, since older entries can never refuse anything;
    - the base class's sweep is never started.
    """

    def __init__(self, max_keys: int) -> None:
        super().__init__()
        if max_keys < 1:
            raise ValueError("max_keys must be at least 1")
        self.max_keys = max_keys
        self.newest: OrderedDict[str, float] = OrderedDict()  # key -> newest hit, oldest first
        self.evicted = 0

    async def _MemoryStorage__schedule_expiry(self) -> None:
        """The base class's per-key sweep (its private hook), replaced by `_drop_old`."""

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        acquired = await super().acquire_entry(key, limit, expiry, amount)
        # The base class's per-key lock is never contended (nothing inside it awaits); dropped
        # at once, it does not cost a lock per remembered key.
        self.locks.pop(key, None)
        if acquired:
            now = time.time()
            del self.events[key][limit:]
            self.newest[key] = now
            self.newest.move_to_end(key)
            self._drop_old(now - expiry)
        return acquired

    def _drop_old(self, cutoff: float) -> None:
        """Forget keys with nothing newer than `cutoff`, then the oldest beyond `max_keys`."""
        while self.newest:
            key, newest = next(iter(self.newest.items()))
            live = newest > cutoff
            if live and len(self.newest) <= self.max_keys:
                return
            self.newest.popitem(last=False)
            self.events.pop(key, None)
            self.evicted += live

    async def clear(self, key: str) -> None:
        await super().clear(key)
        self.newest.pop(key, None)

    def clear_all(self) -> None:
        self.storage.clear()
        self.expirations.clear()
        self.events.clear()
        self.locks.clear()
        self.newest.clear()

    async def reset(self) -> int | None:
        count = len(self.newest)
        self.clear_all()
        return count


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


class RedisWindows:
    """One process's link to the Redis holding the windows, shared by its limiters.

    `strategy()` is None while Redis is considered down (for `retry_seconds` after a failure),
    so an outage costs one timeout per retry period, not one per request.
    """

    def __init__(
        self, url: str, prefix: str, *, timeout: float = 0.25, retry_seconds: float = 5.0
    ) -> None:
        url = url.removeprefix("async+")
        self.url = "unix://" + url.removeprefix("redis+unix://") if "+unix" in url else url
        self.prefix = prefix
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self.down_until = 0.0  # time.monotonic(); until then the limiters count in memory
        self.failures = 0
        self._down = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._storage: RedisStorage | None = None
        self._strategy: MovingWindowRateLimiter | None = None

    @property
    def where(self) -> str:
        """The server, for logs: never the password."""
        parts = urlsplit(self.url)
        if parts.scheme == "unix":
            return f"unix://{parts.path}"
        return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}{parts.path}"

    def _options(self, *, sync: bool = False) -> dict:
        retry = (SyncRetry if sync else AsyncRetry)(NoBackoff(), 0)
        return {  # redis-py retries 3 times by default, with backoff: fall back at once instead
            "socket_timeout": self.timeout,
            "socket_connect_timeout": self.timeout,
            "retry": retry,
        }

    def strategy(self) -> MovingWindowRateLimiter | None:
        if time.monotonic() < self.down_until:
            return None
        loop = asyncio.get_running_loop()
        if self._loop is not loop:
            # redis-py's asyncio connections belong to the loop that opened them: one client per
            # loop (one per process when serving; the tests run a loop per test).
            scheme, _, rest = self.url.partition("://")
            uri = f"async+{'redis+unix' if scheme == 'unix' else scheme}://{rest}"
            pool = BlockingConnectionPool.from_url(
                self.url, max_connections=REDIS_CONNECTIONS, timeout=self.timeout, **self._options()
            )
            self._storage = RedisStorage(
                uri, implementation="redispy", key_prefix=self.prefix, connection_pool=pool
            )
            self._strategy = MovingWindowRateLimiter(self._storage)
            self._loop = loop
        return self._strategy

    def failed(self, exc: BaseException) -> None:
        self.failures += 1
        if not self._down or time.monotonic() >= self.down_until:
            log.warning(
                "rate limits: Redis at %s failed (%s: %s); counting in this process's memory "
                "for %g s",
                self.where,
                type(exc).__name__,
                exc,
                self.retry_seconds,
            )
        self._down = True
        self.down_until = time.monotonic() + self.retry_seconds

    def answered(self) -> None:
        if self._down:
            self._down = False
            log.info("rate limits: Redis at %s answers again; limits are shared", self.where)

    def pattern(self, namespace: str = "") -> str:
        return f"{_glob_escape(self.prefix)}:{_glob_escape(namespace)}*"

    def delete_sync(self, pattern: str) -> int:
        """Delete the keys matching `pattern` (SCAN, not KEYS: Redis keeps answering others)."""
        client = SyncRedis.from_url(self.url, **self._options(sync=True))
        try:
            keys = list(client.scan_iter(match=pattern, count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])
            return len(keys)
        except REDIS_FAILURES as exc:
            log.warning("rate limits: could not clear %s at %s: %s", pattern, self.where, exc)
            return 0
        finally:
            client.close()

    async def delete(self, pattern: str) -> int:
        client = AsyncRedis.from_url(self.url, **self._options())
        try:
            keys = [key async for key in client.scan_iter(match=pattern, count=1000)]
            for start in range(0, len(keys), 1000):
                await client.delete(*keys[start : start + 1000])
            return len(keys)
        except REDIS_FAILURES as exc:
            log.warning("rate limits: could not clear %s at %s: %s", pattern, self.where, exc)
            return 0
        finally:
            await client.aclose()

    async def aclose(self) -> None:
        """Close this loop's connections (tests; a serving process just exits)."""
        if self._storage is not None and self._loop is asyncio.get_running_loop():
            await self._storage.bridge.get_connection().aclose(close_connection_pool=True)
        self._loop = self._storage = self._strategy = None


@lru_cache
def shared_redis() -> RedisWindows | None:
    """The process's Redis link from the settings, or None without `NIGRAN_REDIS_URL`."""
    settings = get_settings()
    if not settings.redis_url:
        return None
    return RedisWindows(
        settings.redis_url,
        settings.rate_limit_prefix,
        timeout=settings.redis_timeout_seconds,
        retry_seconds=settings.redis_retry_seconds,
    )


class _Done:
    """An already finished awaitable: `reset()` works with or without `await`."""

    def __await__(self) -> Generator[None, None, None]:
        return
        yield


class RateLimiter:
    """At most `limit` counted calls per key in any `window_seconds`; refusals are 429s.

    `redis`: "shared" (the default) uses `NIGRAN_REDIS_URL` if set; None counts in memory only;
    a `RedisWindows` uses that Redis (tests: two instances stand in for two workers).
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        what: str,
        *,
        name: str | None = None,
        redis: RedisWindows | Literal["shared"] | None = "shared",
        max_keys: int | None = None,
    ) -> None:
        self.limit = limit
        self.window = window_seconds
        self.what = what
        self.name = name or "-".join(what.split())
        self.redis = shared_redis() if redis == "shared" else redis
        self.memory = BoundedMemoryStorage(max_keys or get_settings().rate_limit_memory_keys)
        self._in_memory = MovingWindowRateLimiter(self.memory)

    def _item(self) -> RateLimitItemPerSecond:
        return RateLimitItemPerSecond(self.limit, int(self.window), namespace=self.name)

    async def _run(self, call: Callable[[MovingWindowRateLimiter], Awaitable[T]]) -> T:
        """`call` on Redis if configured and answering, else on this process's memory."""
        shared = self.redis
        if shared is not None:
            try:
                strategy = shared.strategy()
                if strategy is not None:
                    result = await call(strategy)
                    shared.answered()
                    return result
            except REDIS_FAILURES as exc:
                shared.failed(exc)
        return await call(self._in_memory)

    def _refusal(self, reset_time: float) -> TooManyRequests:
        return TooManyRequests(
            f"too many {self.what}: at most {self.limit} per {int(self.window)} s",
            retry_after=max(1, int(reset_time - time.time()) + 1),
        )

    async def check(self, key: str) -> None:
        """Refuse if `key` already used its allowance; does not count this call."""
        item = self._item()
        stats = await self._run(lambda s: s.get_window_stats(item, key))
        if stats.remaining < 1:
            raise self._refusal(stats.reset_time)

    async def hit(self, key: str) -> None:
        """Count this call, or refuse it (uncounted) if `key` already used its allowance."""
        item = self._item()
        if not await self._run(lambda s: s.hit(item, key)):
            stats = await self._run(lambda s: s.get_window_stats(item, key))
            raise self._refusal(stats.reset_time)

    async def record(self, key: str) -> None:
        """Count a call that already happened (a failed authentication); never refuses."""
        item = self._item()
        await self._run(lambda s: s.hit(item, key))

    def reset(self) -> _Done:
        """Forget every window of this limiter: in memory, and in Redis (its keys under this
        app's prefix only). Runs at once; the result may be awaited or ignored."""
        self.memory.clear_all()
        if self.redis is not None:
            self.redis.delete_sync(self.redis.pattern(f"{self.name}/"))
        return _Done()

    async def areset(self) -> None:
        """`reset()` without blocking the event loop on Redis."""
        self.memory.clear_all()
        if self.redis is not None:
            await self.redis.delete(self.redis.pattern(f"{self.name}/"))
