"""Providers shared by the merchant API: the authenticated organization (rate limited per key) and the
keyring. ``authenticate_request`` is the one place a key is checked; the idempotency middleware, the
``org`` dependency and the mint call it, and later calls reuse the first one's result."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection

from server.db.tables import Organization
from server.errors import Unauthorized
from server.security.keyring import Keyring
from server.security.ratelimit import API_KEY_LIMIT, RateLimiter, enforce
from server.services.api_keys import Caller, authenticate_api_key
from server.services.customer_sessions import CustomerRef, find_customer

_CALLER_STATE_KEY = "selfserve_api_caller"


def provide_keyring(request: Request[Any, Any, Any]) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


async def authenticate_request(
    connection: ASGIConnection[Any, Any, Any, Any], customer: CustomerRef | None = None
) -> Caller:
    """The caller whose secret key is in ``Authorization: Bearer ss_sk_…`` (with the customer ``customer``
    names, found in the same statement); 401 otherwise, 429 when the key is over its rate limit."""
    state = connection.scope["state"]
    cached: Caller | None = state.get(_CALLER_STATE_KEY)
    if cached is not None:
        if customer is None:
            return cached
        return Caller(cached.org_row, await find_customer(cached.org_id, customer))
    scheme, _, key = connection.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized("send your secret API key as Authorization: Bearer ss_sk_…")
    keyring: Keyring = connection.app.state.keyring
    limiter: RateLimiter = connection.app.state.rate_limiter
    await enforce(limiter, "api:" + keyring.api_key_hasher.digest(key), API_KEY_LIMIT)
    caller = await authenticate_api_key(keyring, key, customer)
    if caller is None:
        raise Unauthorized("this API key is not valid or has been revoked")
    state[_CALLER_STATE_KEY] = caller
    return caller


async def provide_org(request: Request[Any, Any, Any]) -> Organization:
    return (await authenticate_request(request)).org
