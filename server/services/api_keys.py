"""Listing, creating and revoking an organization's secret API keys (the plaintext is shown once)."""

from __future__ import annotations

from uuid import UUID

from server import clock
from server.db.tables import ApiKey, Organization
from server.errors import NotFound
from server.security.keyring import Keyring
from server.services.orgs import create_api_key as _insert_key
from server.services.pagination import Page, paginate


async def list_api_keys(org_id: UUID, *, limit: int, cursor: str | None = None) -> Page[ApiKey]:
    return await paginate(ApiKey.objects().where(ApiKey.org == org_id), ApiKey, limit=limit, cursor=cursor)


async def create_api_key(keyring: Keyring, org: Organization, name: str = "") -> tuple[ApiKey, str]:
    """The new key's row and its plaintext, which is never stored and never shown again."""
    plaintext = await _insert_key(keyring, org, name=name)
    row = (
        await ApiKey.objects()
        .where(ApiKey.key_hash == keyring.api_key_hasher.digest(plaintext), ApiKey.org == org.id)
        .first()
    )
    assert row is not None
    return row, plaintext


async def revoke_api_key(org_id: UUID, key_id: UUID) -> ApiKey:
    """Revoke a key at once (idempotent: revoking twice keeps the first moment)."""
    row = await ApiKey.objects().where(ApiKey.org == org_id, ApiKey.id == key_id).first()
    if row is None:
        raise NotFound(f"no API key {key_id}")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        await ApiKey.update({ApiKey.revoked_at: row.revoked_at}).where(
            ApiKey.id == key_id, ApiKey.revoked_at.is_null()
        )
    return row
