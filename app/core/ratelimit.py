"""Sliding-window rate limits, kept in process memory.

One process per deployment is the supported shape today; several workers would each keep
their own window (a shared store such as Redis is the upgrade path).
"""

import time
from collections import defaultdict, deque

from app.core.errors import NigranError


class TooManyRequests(NigranError):
    status_code = 429
    title = "Too many requests"


class RateLimiter:
    def __init__(self, limit: int, window_seconds: float, what: str):
        self.limit = limit
        self.window = window_seconds
        self.what = what
        self.hits: dict[str, deque[float]] = defaultdict(deque)

    def _trim(self, key: str, now: float) -> deque[float]:
        hits = self.hits[key]
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def check(self, key: str) -> None:
        """Refuse if `key` already used its allowance; does not count this call."""
        now = time.monotonic()
        hits = self._trim(key, now)
        if len(hits) >= self.limit:
            retry = max(1, int(hits[0] + self.window - now) + 1)
            raise TooManyRequests(
                f"too many {self.what}: at most {self.limit} per {int(self.window)} s",
                retry_after=retry,
            )

    def hit(self, key: str) -> None:
        self.check(key)
        self.hits[key].append(time.monotonic())

    def record(self, key: str) -> None:
        self.hits[key].append(time.monotonic())

    def reset(self) -> None:
        self.hits.clear()
