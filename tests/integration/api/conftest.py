"""Redis for the tests of the stores that can live there (``SELFSERVE_TEST_REDIS_URL``, database 15)."""

import os

import pytest

REDIS_URL = os.environ.get("SELFSERVE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


async def reachable_redis() -> str:
    """The test Redis URL; skips the test (fails it under CI=true) when Redis does not answer."""
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except OSError as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis at {REDIS_URL} is not reachable: {exc} (CI=true: this suite must run)")
        pytest.skip(f"Redis at {REDIS_URL} is not reachable: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL


@pytest.fixture
async def redis_url():
    return await reachable_redis()
