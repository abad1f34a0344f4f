"""Providers shared by the merchant API: the authenticated organization (rate limited per key) and the
keyring. ``authenticate_request`` is the one place a key is checked (``authenticate_mint`` is the same for
a mint, which finds its customer in the same statement); the idempotency middleware and the ``org``
dependency both call it, and the second call reuses the first's result."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection

from server.activity import acting_by
from server.auth.api_keys import display_prefix
from server.db.tables import Organization
from server.errors import Unauthorized
from server.http.types import AnyRequest
from server.organizations.api_keys import (
    Caller,
    MintingCaller,
    authenticate_api_key,
    authenticate_minting_key,
)
from server.organizations.customer_sessions import CustomerRef, find_customer
from server.security.keyring import Keyring
from server.security.ratelimit import (
    API_KEY_LIMIT,
    RateLimiter,
    count_failed_lookup,
    enforce,
    refuse_while_failing,
)
from server.state import app_state

_CALLER_STATE_KEY = "selfserve_api_caller"
_REFUSED = "this API key is not valid or has been revoked"


async def _rate_limited_key(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The key in ``Authorization: Bearer ss_sk_…``, counted against its rate limit; 401 when there is none,
    429 when it is over the limit or the client's address has failed too many lookups."""
    scheme, _, key = connection.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized("send your secret API key as Authorization: Bearer ss_sk_…")
    await refuse_while_failing(connection)
    keyring: Keyring = app_state(connection).keyring
    limiter: RateLimiter = app_state(connection).rate_limiter
    await enforce(limiter, "api:" + keyring.api_key_hasher.digest(key), API_KEY_LIMIT)
    return key


async def authenticate_request(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    """The caller whose secret key the request carries; 401 when it is not live, 429 when it is over its
    rate limit. A second call for the same request reuses the first one's answer."""
    state = connection.scope["state"]
    cached: Caller | None = state.get(_CALLER_STATE_KEY)
    if cached is not None:
        return cached
    keyring: Keyring = app_state(connection).keyring
    key = await _rate_limited_key(connection)
    caller = await authenticate_api_key(keyring, key)
    if caller is None:
        await count_failed_lookup(connection)
        raise Unauthorized(_REFUSED)
    acting_by(api_key=display_prefix(key))
    state[_CALLER_STATE_KEY] = caller
    return caller


async def authenticate_mint(
    connection: ASGIConnection[Any, Any, Any, Any], customer: CustomerRef
) -> MintingCaller:
    """``authenticate_request`` for a mint, which also finds the customer it names: in the same statement,
    unless the idempotency middleware has already authenticated the request."""
    cached: Caller | None = connection.scope["state"].get(_CALLER_STATE_KEY)
    if cached is not None:
        return MintingCaller(cached.org_row, await find_customer(cached.org_id, customer))
    keyring: Keyring = app_state(connection).keyring
    minting = await authenticate_minting_key(keyring, await _rate_limited_key(connection), customer)
    if minting is None:
        await count_failed_lookup(connection)
        raise Unauthorized(_REFUSED)
    return minting


async def provide_org(request: AnyRequest) -> Organization:
    return (await authenticate_request(request)).org
