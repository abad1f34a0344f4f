"""Fixed-window rate limits behind one small interface: in memory for one process, Redis for several.

A bucket is any string (an API key's id, an email, an IP); both stores count hits per bucket in windows that
start at multiples of ``window_seconds`` on the one clock, so tests move the clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Protocol

from server import clock
from server.errors import RateLimited


@dataclass(frozen=True)
class Limit:
    hits: int
    window_seconds: int


API_KEY_LIMIT = Limit(hits=500, window_seconds=60)
"""The merchant API: 500 requests per minute per key (the hosted platform's figure)."""
LOGIN_LIMITS = (Limit(hits=6, window_seconds=60), Limit(hits=12, window_seconds=3600))
"""Magic-link requests per email and per IP (CONTRACT §6); going over blocks the bucket for 15 minutes."""
LOGIN_BLOCK_SECONDS = 15 * 60


def _window(limit: Limit) -> tuple[int, int]:
    """(window number, seconds until it ends) for now."""
    now = clock.now().timestamp()
    number = int(now // limit.window_seconds)
    return number, max(1, math.ceil((number + 1) * limit.window_seconds - now))


class RateLimiter(Protocol):
    async def hit(self, bucket: str, limit: Limit) -> int | None:
        """Count one hit; None when allowed, else the seconds to wait (for ``Retry-After``)."""

    async def block(self, bucket: str, seconds: int) -> None:
        """Refuse ``bucket`` for ``seconds`` from now, whatever its counts."""

    async def blocked_for(self, bucket: str) -> int | None:
        """Seconds left of a block on ``bucket``; None when it is not blocked."""


def _left(until: float) -> int | None:
    left = until - clock.now().timestamp()
    return math.ceil(left) if left > 0 else None


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}
        self._blocked_until: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def hit(self, bucket: str, limit: Limit) -> int | None:
        number, remaining = _window(limit)
        async with self._lock:
            window, count = self._counts.get(bucket, (number, 0))
            if window != number:
                count = 0
            self._counts[bucket] = (number, count + 1)
            if len(self._counts) > 100_000:
                self._forget_old(number)
        return remaining if count + 1 > limit.hits else None

    def _forget_old(self, number: int) -> None:
        self._counts = {b: v for b, v in self._counts.items() if v[0] >= number}
        now = clock.now().timestamp()
        self._blocked_until = {b: t for b, t in self._blocked_until.items() if t > now}

    async def block(self, bucket: str, seconds: int) -> None:
        self._blocked_until[bucket] = clock.now().timestamp() + seconds

    async def blocked_for(self, bucket: str) -> int | None:
        return _left(self._blocked_until.get(bucket, 0.0))


class RedisRateLimiter:
    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)

    async def hit(self, bucket: str, limit: Limit) -> int | None:
        number, remaining = _window(limit)
        key = f"selfserve:rl:{bucket}:{limit.window_seconds}:{number}"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, limit.window_seconds + 1)
            count, _ = await pipe.execute()
        return remaining if int(count) > limit.hits else None

    async def block(self, bucket: str, seconds: int) -> None:
        until = clock.now().timestamp() + seconds
        await self._redis.set(f"selfserve:rl-block:{bucket}", str(until), ex=seconds + 1)

    async def blocked_for(self, bucket: str) -> int | None:
        until = await self._redis.get(f"selfserve:rl-block:{bucket}")
        return _left(float(until)) if until is not None else None

    async def close(self) -> None:
        await self._redis.aclose()


def rate_limiter_for(redis_url: str | None) -> MemoryRateLimiter | RedisRateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()


async def enforce(limiter: RateLimiter, bucket: str, limit: Limit, what: str = "requests") -> None:
    """Raise ``RateLimited`` (429 with ``Retry-After``) when ``bucket`` is over ``limit``."""
    retry_after = await limiter.hit(bucket, limit)
    if retry_after is not None:
        raise RateLimited(
            f"too many {what}: at most {limit.hits} per {limit.window_seconds} s; retry in {retry_after} s",
            retry_after=retry_after,
        )
