"""An organization's secret API keys: checked on every API request, listed, created (the plaintext is shown
once) and revoked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import cache, cached_property
from typing import Any
from uuid import UUID

from server import clock
from server.auth.api_keys import is_well_formed
from server.db.tables import ApiKey, Organization
from server.errors import NotFound
from server.security.keyring import Keyring
from server.services.customer_sessions import CustomerColumn, CustomerRef, FoundCustomer
from server.services.orgs import create_api_key as _insert_key
from server.services.pagination import Page, paginate
from server.services.point_reads import read_one

LAST_USED_PRECISION = timedelta(minutes=1)
"""``last_used_at`` is written when it is older than this, not on every request (a write per API call would
cost more than the call)."""
_ORG_COLUMNS = ", ".join(f"o.{column._meta.db_column_name}" for column in Organization._meta.columns)


@dataclass(frozen=True)
class Caller:
    """Who sent an API request: the organization of its key (its row) and, when the request named one, the
    customer (None when the organization has no such customer)."""

    org_row: dict[str, Any]
    customer: FoundCustomer | None = None

    @property
    def org_id(self) -> UUID:
        org_id: UUID = self.org_row["id"]
        return org_id

    @cached_property
    def org(self) -> Organization:
        """Made on first use: a Piccolo object costs more than the mint, which never needs one."""
        return Organization(**self.org_row, _exists_in_db=True)


@cache
def _live_key_sql(candidates: int, customer_column: CustomerColumn | None) -> str:
    """Key -> organization, and the customer of that organization whose ``customer_column`` is the first
    parameter when one is given; the key's hashes are the last ``candidates`` parameters."""
    customer, join = "", ""
    if customer_column is not None:
        customer = "c.id AS customer_id, c.deleted_at AS customer_deleted_at, "
        join = f"LEFT JOIN ss_customer c ON c.org = k.org AND c.{customer_column} = {{}} "
    hashes = ", ".join(["{}"] * candidates)
    # Only our own column names are interpolated; every value is a parameter.
    return (
        f"SELECT k.id AS api_key_id, k.last_used_at AS api_key_last_used_at, {customer}{_ORG_COLUMNS} "  # noqa: S608
        f"FROM ss_api_key k JOIN ss_organization o ON o.id = k.org {join}"
        f"WHERE k.key_hash IN ({hashes}) AND k.revoked_at IS NULL LIMIT 1"
    )


async def authenticate_api_key(
    keyring: Keyring, key: str, customer: CustomerRef | None = None
) -> Caller | None:
    """The caller of a live key, or None. One statement, read afresh on every API request, so a revoked key
    is refused by every process from the next request on; it also finds the customer ``customer`` names
    (the mint needs both). Malformed keys never reach the database."""
    if not is_well_formed(key):
        return None
    candidates = keyring.api_key_hasher.candidates(key)
    match = customer.match if customer is not None else None
    column, params = (None, candidates) if match is None else (match[0], [match[1], *candidates])
    row = await read_one(_live_key_sql(len(candidates), column), *params)
    if row is None:
        return None
    key_id, last_used_at = row.pop("api_key_id"), row.pop("api_key_last_used_at")
    now = clock.now()
    if last_used_at is None or now - last_used_at >= LAST_USED_PRECISION:
        await ApiKey.update({ApiKey.last_used_at: now}).where(ApiKey.id == key_id)
    found = None
    if column is not None:
        customer_id, deleted_at = row.pop("customer_id"), row.pop("customer_deleted_at")
        found = FoundCustomer(customer_id, deleted_at) if customer_id is not None else None
    return Caller(row, found)


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
