"""Sliding-window rate limits with the same answers from both stores, and the per-address limit on failed
API-key, token, sign-in-link and session lookups."""

import asyncio
import uuid
from datetime import timedelta

import httpx
import pytest

from server import clock
from server.clock import FrozenClock, use_clock
from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.security.ratelimit import FAILED_LOOKUP_LIMIT, Limit, MemoryRateLimiter, RedisRateLimiter
from server.tokens import mint_portal_token

from .conftest import reachable_redis

PARENT = "https://app.example.com"


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiter(request):
    if request.param == "memory":
        yield MemoryRateLimiter()
        return
    store = RedisRateLimiter(await reachable_redis())
    yield store
    await store.close()


@pytest.fixture
def frozen():
    start = clock.now().replace(second=50, microsecond=0)
    with use_clock(FrozenClock(start)) as frozen_clock:
        yield frozen_clock


async def test_a_burst_across_a_minute_boundary_gets_no_more_than_the_limit(limiter, frozen):
    """The login promise, 6 a minute: calendar minutes let 6 at :50-:55 and 6 more from :00 through."""
    bucket, limit = f"t:{uuid.uuid4()}", Limit(hits=6, window_seconds=60)
    allowed = 0
    for _ in range(16):  # one a second from :50 to :05, across the boundary
        allowed += await limiter.hit(bucket, limit) is None
        frozen.advance(timedelta(seconds=1))
    assert allowed == 6
    assert await limiter.hit(bucket, limit) == 44  # the first hit (at :50) leaves the window at :50
    frozen.advance(timedelta(seconds=44))
    assert await limiter.hit(bucket, limit) is None
    assert await limiter.hit(bucket, limit) == 1
    frozen.advance(timedelta(seconds=1))
    assert await limiter.hit(bucket, limit) is None


async def test_looking_counts_nothing_and_buckets_are_apart(limiter, frozen):
    bucket, limit = f"t:{uuid.uuid4()}", Limit(hits=2, window_seconds=60)
    for _ in range(5):
        assert await limiter.peek(bucket, limit) is None
    assert await limiter.hit(bucket, limit) is None
    frozen.advance(timedelta(seconds=10))
    assert await limiter.hit(bucket, limit) is None
    assert await limiter.peek(bucket, limit) == 50
    assert await limiter.hit(bucket, limit) == 50
    assert await limiter.hit(f"{bucket}:other", limit) is None


async def test_concurrent_hits_take_exactly_the_free_places(limiter, frozen):
    bucket, limit = f"t:{uuid.uuid4()}", Limit(hits=5, window_seconds=60)
    answers = await asyncio.gather(*(limiter.hit(bucket, limit) for _ in range(20)))
    assert answers.count(None) == 5


def _bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


async def _customer(org):
    return await create_customer(org.org.id, CustomerCreate(email=f"{uuid.uuid4().hex[:8]}@example.com"))


async def _valid_api_call(http, org, api_headers):
    return await http.get("/v1/customers", headers=api_headers)


async def _valid_exchange(http, org, api_headers):
    customer = await _customer(org)
    token = mint_portal_token(org_id=org.org.id, customer_id=customer.id, secret=org.embed_secret)
    return await http.post("/embed/session", json={"token": token, "origin": PARENT})


LOOKUPS = {
    "api key": (
        lambda http, org: http.get("/v1/customers", headers=_bearer("ss_sk_" + "x" * 40)),
        401,
        _valid_api_call,
    ),
    "portal token": (
        lambda http, org: http.post("/embed/session", json={"token": "forged.token", "origin": PARENT}),
        401,
        _valid_exchange,
    ),
    "embed session": (
        lambda http, org: http.get("/embed/views/overview", headers=_bearer(uuid.uuid4().hex)),
        401,
        None,
    ),
    "hosted session cookie": (
        lambda http, org: http.get(
            f"/portal/{org.org.slug}", headers={"cookie": f"ss_session={uuid.uuid4()}"}
        ),
        200,
        None,
    ),
    "hosted link or token": (
        lambda http, org: http.post(
            f"/portal/{org.org.slug}/session", data={"token": "ml_" + uuid.uuid4().hex}
        ),
        410,
        None,
    ),
    "seat invitation": (
        lambda http, org: http.post(f"/portal/{org.org.slug}/claim", data={"token": uuid.uuid4().hex}),
        410,
        None,
    ),
}


@pytest.mark.parametrize("kind", LOOKUPS)
async def test_failed_lookups_from_one_address_are_limited(app, client, org, api_headers, frozen, kind):
    fail, failed_status, valid = LOOKUPS[kind]
    for attempt in range(FAILED_LOOKUP_LIMIT.hits):
        response = await fail(client, org)
        assert response.status_code == failed_status, (attempt, response.text)
        frozen.advance(timedelta(seconds=1))
    limited = await fail(client, org)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "30"  # the first failure is 30 s old
    elsewhere = httpx.ASGITransport(app=app, client=("203.0.113.9", 4321))
    async with httpx.AsyncClient(transport=elsewhere, base_url="http://testserver.local") as other:
        assert (await fail(other, org)).status_code == failed_status
        if valid is not None:
            assert (await valid(other, org, api_headers)).status_code < 300
    if valid is not None:  # refused before the lookup: a right credential does not get through either
        assert (await valid(client, org, api_headers)).status_code == 429
    frozen.advance(timedelta(seconds=30))  # the first failure leaves the window: one more lookup may run
    if valid is not None:
        assert (await valid(client, org, api_headers)).status_code < 300
    assert (await fail(client, org)).status_code == failed_status
    assert (await fail(client, org)).status_code == 429


async def test_replaying_a_genuine_token_is_not_counted_as_guessing(client, org, frozen):
    """A used token (a double click, a retrying loader) is refused with 401 however often it comes back,
    never 429: it was issued, nobody guessed it."""
    customer = await _customer(org)
    body = {
        "token": mint_portal_token(org_id=org.org.id, customer_id=customer.id, secret=org.embed_secret),
        "origin": PARENT,
    }
    assert (await client.post("/embed/session", json=body)).status_code == 201
    replays = [await client.post("/embed/session", json=body) for _ in range(FAILED_LOOKUP_LIMIT.hits + 10)]
    assert {r.status_code for r in replays} == {401}
    assert {r.json()["code"] for r in replays} == {"token_replayed"}
