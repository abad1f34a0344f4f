"""The organization's shapes in the API: secret API keys in and out (the key itself appears only in the
creation response), and customer sessions (``POST /v1/customer-sessions``: a portal token for one
customer and the URL that opens the portal)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from server.db.tables import ApiKey
from server.schemas.common import ExternalId


class ApiKeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, Meta(max_length=100)] = ""


class ApiKeyOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    name: str
    display_prefix: str
    """The first characters of the key, to tell keys apart; never enough to use it."""
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, row: ApiKey) -> ApiKeyOut:
        return cls(
            id=str(row.id),
            name=row.name,
            display_prefix=row.display_prefix,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            revoked_at=row.revoked_at,
        )


class CreatedApiKeyOut(ApiKeyOut, frozen=True, kw_only=True):
    key: str
    """The secret key: shown in this response only. Store it in your secret store now."""


ViewScope = Annotated[str, Meta(max_length=32)]


class CustomerSessionCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Name the customer by ``customer_id`` or by ``external_customer_id`` (exactly one)."""

    customer_id: UUID | None = None
    external_customer_id: ExternalId | None = None
    ttl_seconds: Annotated[int, Meta(ge=60, le=86_400)] | None = None
    """Token lifetime; defaults to the portal settings' ``default_token_ttl``."""
    return_url: Annotated[str, Meta(max_length=2000)] | None = None
    """Where the portal's back link goes (https; http only for localhost)."""
    views: Annotated[list[Annotated[str, Meta(max_length=32)]], Meta(min_length=1, max_length=8)] | None = (
        None
    )
    """Restrict the portal to these of its views (a billing-only link, say); null means every enabled view.
    A name that is not one of the portal's views is refused (422)."""
    read_only: bool = False


class CustomerSessionOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    """The token's unique id (``jti``)."""
    token: str
    expires_at: datetime
    customer_portal_url: str
    """Opens the hosted portal; the token rides in the fragment, so it never reaches a server log."""
    customer_id: str


CUSTOMER_SESSION_EXAMPLE = {
    "external_customer_id": "user_42",
    "ttl_seconds": 900,
    "return_url": "https://app.example.com/account",
    "views": ["subscriptions", "orders"],
}
