"""The Redis variants of the rate limiter and the token-replay store (``SELFSERVE_REDIS_URL``)."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from server.auth.replay import RedisReplayStore
from server.clock import FrozenClock, use_clock
from server.security.ratelimit import Limit, RedisRateLimiter

pytestmark = pytest.mark.redis


async def test_redis_rate_limit_shares_counts_between_limiters(redis_url):
    first, second = RedisRateLimiter(redis_url), RedisRateLimiter(redis_url)
    bucket, limit = f"test:{uuid.uuid4()}", Limit(hits=2, window_seconds=60)
    try:
        with use_clock(FrozenClock(datetime(2026, 1, 1, 0, 0, 30, tzinfo=UTC))) as frozen:
            assert await first.hit(bucket, limit) is None
            frozen.advance(timedelta(seconds=20))
            assert await second.hit(bucket, limit) is None
            assert await first.hit(bucket, limit) == 40
    finally:
        await first.close()
        await second.close()


async def test_redis_replay_store_burns_once_under_concurrency(redis_url):
    store = RedisReplayStore(redis_url)
    jti = f"test-{uuid.uuid4()}"
    try:
        expires = datetime.now(UTC) + timedelta(minutes=5)
        results = await asyncio.gather(*(store.burn(jti, uuid.uuid4(), expires) for _ in range(20)))
    finally:
        await store.close()
    assert results.count(True) == 1
