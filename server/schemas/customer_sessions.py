"""``POST /v1/customer-sessions``: a portal token for one customer and the URL that opens the portal."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from msgspec import Meta

from server.schemas.common import ExternalId

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
