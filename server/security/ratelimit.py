"""Sliding-window rate limits behind one small interface: in memory for one process, Redis for several.

A bucket is any string (an API key's id, an email, an IP). A limit of N hits per W seconds means at most N
allowed hits in ANY W-second span: each allowed hit is remembered with its time, and a hit is refused while N
of them are younger than W seconds (a refused hit is not remembered). Calendar windows let twice the limit
through around a boundary. Both stores keep the same log, times come from the one clock, so tests move the
clock instead of sleeping.
"""

from __future__ import annotations

import math
import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol

from litestar.connection import ASGIConnection

from server import clock
from server.errors import RateLimited
from server.state import app_state


@dataclass(frozen=True)
class Limit:
    hits: int
    window_seconds: int


API_KEY_LIMIT = Limit(hits=500, window_seconds=60)
"""The merchant API: 500 requests per minute per key (the hosted platform's figure)."""
LOGIN_LIMITS = (Limit(hits=6, window_seconds=60), Limit(hits=12, window_seconds=3600))
"""Magic-link requests per email and per IP (CONTRACT §6); going over blocks the bucket for 15 minutes."""
LOGIN_BLOCK_SECONDS = 15 * 60
FAILED_LOOKUP_LIMIT = Limit(hits=30, window_seconds=60)
"""Lookups of credentials nobody issued (an unknown API key, session, sign-in link or seat invitation, a
forged portal token) per client address: past it, every lookup from that address is refused (429) until
its oldest failure is a minute old. A genuine token that has expired or been used is not a guess and not
counted."""
MEMORY_BUCKETS = 100_000
"""How many buckets the in-memory store holds before it forgets the idle ones."""


def _wait(seconds: float) -> int:
    """Whole seconds for ``Retry-After``, at least 1."""
    return max(1, math.ceil(seconds))


class RateLimiter(Protocol):
    async def hit(self, bucket: str, limit: Limit) -> int | None:
        """Count one hit unless ``bucket`` is full; None when allowed, else the seconds to wait."""

    async def peek(self, bucket: str, limit: Limit) -> int | None:
        """What ``hit`` would answer, without counting anything."""

    async def block(self, bucket: str, seconds: int) -> None:
        """Refuse ``bucket`` for ``seconds`` from now, whatever its counts."""

    async def blocked_for(self, bucket: str) -> int | None:
        """Seconds left of a block on ``bucket``; None when it is not blocked."""


def _left(until: float) -> int | None:
    left = until - clock.now().timestamp()
    return math.ceil(left) if left > 0 else None


class MemoryRateLimiter:
    """The log of allowed hits per bucket, oldest first. Nothing awaits between reading and writing it, so
    concurrent requests of one event loop cannot both take the last place."""

    def __init__(self) -> None:
        self._hits: dict[str, tuple[int, deque[float]]] = {}
        self._blocked_until: dict[str, float] = {}

    def _recent(self, bucket: str, limit: Limit, now: float) -> deque[float]:
        _, hits = self._hits.get(bucket) or (0, deque())
        while hits and hits[0] <= now - limit.window_seconds:
            hits.popleft()
        return hits

    async def hit(self, bucket: str, limit: Limit) -> int | None:
        now = clock.now().timestamp()
        hits = self._recent(bucket, limit, now)
        if len(hits) >= limit.hits:
            return _wait(hits[0] + limit.window_seconds - now)
        hits.append(now)
        self._hits[bucket] = (limit.window_seconds, hits)
        if len(self._hits) > MEMORY_BUCKETS:
            self._forget_idle(now)
        return None

    async def peek(self, bucket: str, limit: Limit) -> int | None:
        now = clock.now().timestamp()
        hits = self._recent(bucket, limit, now)
        return _wait(hits[0] + limit.window_seconds - now) if len(hits) >= limit.hits else None

    def _forget_idle(self, now: float) -> None:
        self._hits = {b: (w, h) for b, (w, h) in self._hits.items() if h and h[-1] > now - w}
        self._blocked_until = {b: t for b, t in self._blocked_until.items() if t > now}

    async def block(self, bucket: str, seconds: int) -> None:
        self._blocked_until[bucket] = clock.now().timestamp() + seconds

    async def blocked_for(self, bucket: str) -> int | None:
        return _left(self._blocked_until.get(bucket, 0.0))


_SLIDING_WINDOW = """
local now, window, most = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= most then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
if ARGV[4] ~= '' then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('EXPIRE', KEYS[1], math.ceil(window) + 1)
end
return false
"""
"""The memory store's rule on a sorted set of hit times, in one atomic step. ARGV: now, window, hits, and
the new hit's member (empty: only look). Returns the seconds to wait as text (Lua numbers reach Redis as
integers), or nothing when the hit is allowed."""


class RedisRateLimiter:
    def __init__(self, url: str) -> None:
        from redis.asyncio import Redis

        self._redis = Redis.from_url(url)
        self._sliding_window = self._redis.register_script(_SLIDING_WINDOW)

    async def _run(self, bucket: str, limit: Limit, member: str) -> int | None:
        now = clock.now().timestamp()
        key = f"selfserve:rl:{bucket}:{limit.window_seconds}"
        wait: Any = await self._sliding_window(
            keys=[key], args=[repr(now), limit.window_seconds, limit.hits, member]
        )
        return None if wait is None else _wait(float(wait))

    async def hit(self, bucket: str, limit: Limit) -> int | None:
        return await self._run(bucket, limit, f"{clock.now().timestamp()!r}:{secrets.token_hex(6)}")

    async def peek(self, bucket: str, limit: Limit) -> int | None:
        return await self._run(bucket, limit, "")

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


def _failures_bucket(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    return "failed-lookups:" + (connection.client.host if connection.client else "unknown")


async def refuse_while_failing(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """429 while the client's address is over ``FAILED_LOOKUP_LIMIT``; called before a presented API key,
    token, sign-in link or session is looked up, so guessing goes no faster than the limit."""
    limiter: RateLimiter = app_state(connection).rate_limiter
    wait = await limiter.peek(_failures_bucket(connection), FAILED_LOOKUP_LIMIT)
    if wait is not None:
        raise RateLimited(
            f"too many failed attempts from this address: at most {FAILED_LOOKUP_LIMIT.hits} a minute; "
            f"retry in {wait} s",
            retry_after=wait,
        )


async def count_failed_lookup(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """A presented API key, token, sign-in link or session was not found (or no longer works)."""
    limiter: RateLimiter = app_state(connection).rate_limiter
    await limiter.hit(_failures_bucket(connection), FAILED_LOOKUP_LIMIT)
