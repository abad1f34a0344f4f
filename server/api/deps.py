"""Providers shared by the merchant API: the authenticated organization and the keyring."""

from __future__ import annotations

from typing import Any

from litestar import Request

from server.db.tables import Organization
from server.errors import Unauthorized
from server.security.keyring import Keyring


def provide_keyring(request: Request[Any, Any, Any]) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


async def provide_org(request: Request[Any, Any, Any]) -> Organization:
    """The organization whose secret key is in ``Authorization: Bearer ss_sk_…``; 401 otherwise."""
    from server.services.orgs import authenticate_api_key

    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key:
        raise Unauthorized("send your secret API key as Authorization: Bearer ss_sk_…")
    org = await authenticate_api_key(provide_keyring(request), key.strip())
    if org is None:
        raise Unauthorized("this API key is not valid or has been revoked")
    return org
