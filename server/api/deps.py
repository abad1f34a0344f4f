"""Providers shared by the merchant API: the authenticated organization (rate limited per key) and the
keyring. ``authenticate_request`` is the one place a key is checked; the idempotency middleware and the
``org`` dependency both call it, and the second call reuses the first's result."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection

from server.db.tables import Organization
from server.errors import Unauthorized
from server.security.keyring import Keyring
from server.security.ratelimit import API_KEY_LIMIT, RateLimiter, enforce

_ORG_STATE_KEY = "selfserve_api_org"


def provide_keyring(request: Request[Any, Any, Any]) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


async def authenticate_request(connection: ASGIConnection[Any, Any, Any, Any]) -> Organization:
    """The organization whose secret key is in ``Authorization: Bearer ss_sk_…``; 401 otherwise, 429 when
    the key is over its rate limit."""
    from server.services.orgs import authenticate_api_key

    cached: Organization | None = connection.state.get(_ORG_STATE_KEY)
    if cached is not None:
        return cached
    scheme, _, key = connection.headers.get("authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized("send your secret API key as Authorization: Bearer ss_sk_…")
    keyring: Keyring = connection.app.state.keyring
    limiter: RateLimiter = connection.app.state.rate_limiter
    await enforce(limiter, "api:" + keyring.api_key_hasher.digest(key), API_KEY_LIMIT)
    org = await authenticate_api_key(keyring, key)
    if org is None:
        raise Unauthorized("this API key is not valid or has been revoked")
    connection.state[_ORG_STATE_KEY] = org
    return org


async def provide_org(request: Request[Any, Any, Any]) -> Organization:
    return await authenticate_request(request)
