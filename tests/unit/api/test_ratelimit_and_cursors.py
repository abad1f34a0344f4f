"""The in-memory rate limiter's sliding window and the opaque pagination cursor."""

from datetime import UTC, datetime, timedelta

import pytest

from server.clock import FrozenClock, use_clock
from server.db.pagination import decode_cursor, encode_cursor
from server.errors import Invalid, RateLimited
from server.security.ratelimit import Limit, MemoryRateLimiter, enforce


async def test_limit_counts_per_bucket_over_the_last_window():
    limiter, limit = MemoryRateLimiter(), Limit(hits=3, window_seconds=60)
    with use_clock(FrozenClock(datetime(2026, 1, 1, 0, 0, 50, tzinfo=UTC))) as frozen:
        assert [await limiter.hit("a", limit) for _ in range(3)] == [None, None, None]
        assert await limiter.hit("a", limit) == 60
        assert await limiter.hit("b", limit) is None
        frozen.advance(timedelta(seconds=10))  # a new calendar minute, but the three hits are 10 s old
        assert await limiter.hit("a", limit) == 50
        frozen.advance(timedelta(seconds=50))
        assert await limiter.hit("a", limit) is None


async def test_enforce_raises_with_retry_after():
    limiter, limit = MemoryRateLimiter(), Limit(hits=1, window_seconds=60)
    with use_clock(FrozenClock(datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC))):
        await enforce(limiter, "k", limit)
        with pytest.raises(RateLimited) as limited:
            await enforce(limiter, "k", limit)
    assert limited.value.retry_after == 60


def test_cursor_round_trip_and_garbage():
    moment = datetime(2026, 3, 4, 5, 6, 7, 89, tzinfo=UTC)
    row_id = "3f2c9a1e-8d4b-4c55-9a0e-2f6d7b8c1a2e"
    decoded = decode_cursor(encode_cursor(moment, row_id))
    assert decoded[0] == moment
    assert str(decoded[1]) == row_id
    for garbage in ("", "!!!", "bm90IGpzb24", encode_cursor(moment, "not-a-uuid")):
        with pytest.raises(Invalid):
            decode_cursor(garbage)
