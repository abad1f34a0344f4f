"""An organization's secret API keys: checked on every API request, listed, created (the plaintext is shown
once) and revoked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache, cached_property
from typing import Any
from uuid import UUID

from server import clock
from server.activity import record_merchant_activity
from server.auth.api_keys import is_well_formed
from server.db.pagination import Page, paginate
from server.db.point_reads import read_one
from server.db.tables import ApiKey, Organization
from server.errors import NotFound
from server.organizations.customer_sessions import CustomerColumn, CustomerRef, FoundCustomer
from server.organizations.service import create_api_key as _insert_key
from server.security.keyring import Keyring

LAST_USED_PRECISION = timedelta(minutes=1)
"""``last_used_at`` is written when it is at least this old, not on every request (a write per API call would
cost more than the call)."""
_ORG_COLUMNS = ", ".join(f"o.{column._meta.db_column_name}" for column in Organization._meta.columns)
_MINT_COLUMNS = (
    "CAST(o.id AS TEXT) AS id, o.slug, o.portal_settings, "
    "CAST(c.id AS TEXT) AS customer_id, c.deleted_at IS NOT NULL AS customer_archived"
)
"""What a mint reads, as text, flags and JSON: no column a driver has to convert (SQLite's converters cost
more than its lookup)."""
_MINT_JOINS: dict[CustomerColumn, str] = {
    "id": "LEFT JOIN ss_customer c ON c.org = k.org AND c.id = {} ",
    "external_id": "LEFT JOIN ss_customer c ON c.org = k.org AND c.external_id = {} ",
}


@dataclass(frozen=True)
class Caller:
    """Who sent an API request: the organization of its key, as its row."""

    org_row: dict[str, Any]

    @property
    def org_id(self) -> UUID:
        org_id: UUID = self.org_row["id"]
        return org_id

    @cached_property
    def org(self) -> Organization:
        """Made on first use: a Piccolo object costs more than many a request needs."""
        return Organization(**self.org_row, _exists_in_db=True)


@dataclass(frozen=True)
class MintingCaller:
    """Who sent a mint: the organization's ``id``, ``slug`` and ``portal_settings`` (what signing reads) and
    the customer the mint names (None when the organization has no such customer)."""

    org: dict[str, Any]
    customer: FoundCustomer | None


@cache
def _live_key_sql(candidates: int, columns: str, join: str) -> str:
    """``columns`` of the live key ``k`` whose hash is one of the last ``candidates`` parameters, of its
    organization ``o`` and of what ``join`` adds (its parameters come after the first), with whether the
    key's ``last_used_at`` is no later than the first parameter."""
    hashes = ", ".join(["{}"] * candidates)
    # Only our own column names are interpolated; every value is a parameter.
    return (
        "SELECT (k.last_used_at IS NULL OR k.last_used_at <= {}) AS api_key_stale, "  # noqa: S608
        f"{columns} FROM ss_api_key k JOIN ss_organization o ON o.id = k.org {join}"
        f"WHERE k.key_hash IN ({hashes}) AND k.revoked_at IS NULL LIMIT 1"
    )


async def _live_key(
    keyring: Keyring, key: str, columns: str, join: str = "", *join_params: Any
) -> dict[str, Any] | None:
    """``columns`` (see ``_live_key_sql``) for the live key ``key``, or None; marks the key used when its
    ``last_used_at`` is stale, and hashes it again under the newest secret key then (after a key rotation,
    a key in use is found by the newest key alone from its first use a minute or more later). One
    statement, read afresh on every API request, so a revoked key is refused by every process from the
    next request on. Malformed keys never reach the database."""
    if not is_well_formed(key):
        return None
    candidates = keyring.api_key_hasher.candidates(key)
    now = clock.now()
    sql = _live_key_sql(len(candidates), columns, join)
    row = await read_one(sql, now - LAST_USED_PRECISION, *join_params, *candidates)
    if row is not None and row.pop("api_key_stale"):
        await ApiKey.update(
            {ApiKey.last_used_at: now, ApiKey.key_hash: keyring.api_key_hasher.digest(key)}
        ).where(ApiKey.key_hash.is_in(candidates))
    return row


async def authenticate_api_key(keyring: Keyring, key: str) -> Caller | None:
    """The caller of a live key, or None."""
    row = await _live_key(keyring, key, _ORG_COLUMNS)
    return Caller(row) if row is not None else None


async def authenticate_minting_key(keyring: Keyring, key: str, customer: CustomerRef) -> MintingCaller | None:
    """The caller of a live key and the customer the mint names, found in the same statement; None when
    the key is not live."""
    if customer.match is None:  # refused once the key is known to be good (401 comes first)
        caller = await authenticate_api_key(keyring, key)
        return MintingCaller(caller.org_row, None) if caller is not None else None
    column, value = customer.match
    row = await _live_key(keyring, key, _MINT_COLUMNS, _MINT_JOINS[column], value)
    if row is None:
        return None
    customer_id, archived = row.pop("customer_id"), row.pop("customer_archived")
    return MintingCaller(row, FoundCustomer(customer_id, bool(archived)) if customer_id is not None else None)


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
    await record_merchant_activity(org.id, "api_key.created", id=str(row.id), prefix=row.display_prefix)
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
        await record_merchant_activity(org_id, "api_key.revoked", id=str(row.id), prefix=row.display_prefix)
    return row
