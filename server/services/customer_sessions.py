"""A portal link for one customer, shared by ``POST /v1/customer-sessions`` and ``selfserve token``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from server.auth.tokens import PortalClaims, issue_portal_token
from server.db.tables import Organization
from server.errors import Invalid
from server.schemas.portal_settings import load_portal_settings
from server.schemas.validators import check_url
from server.services.customers import get_customer, get_customer_by_external_id


@dataclass(frozen=True)
class PortalLink:
    token: str
    claims: PortalClaims
    url: str
    """The hosted portal with the token in the fragment (never the query: fragments stay out of logs)."""


def portal_url(public_url: str, org_slug: str, token: str) -> str:
    return f"{public_url}/portal/{org_slug}#token={token}"


async def create_portal_link(
    org: Organization,
    *,
    secret: str,
    public_url: str,
    customer_id: UUID | None = None,
    external_customer_id: str | None = None,
    ttl: int | None = None,
    views: Sequence[str] | None = None,
    read_only: bool = False,
    return_url: str | None = None,
) -> PortalLink:
    """Mint a single-use token for the customer named by id or external id (exactly one), signed with
    ``secret``; the lifetime defaults to the org's ``default_token_ttl``."""
    if (customer_id is None) == (external_customer_id is None):
        raise Invalid("give exactly one of customer_id and external_customer_id")
    if customer_id is not None:
        customer = await get_customer(org.id, customer_id)
    else:
        customer = await get_customer_by_external_id(org.id, external_customer_id or "")
    if customer.deleted_at is not None:
        raise Invalid("this customer is archived")
    token, claims = issue_portal_token(
        org_id=org.id,
        customer_id=customer.id,
        secret=secret,
        ttl=ttl or load_portal_settings(org).default_token_ttl,
        views=views,
        read_only=read_only,
        return_url=check_url(return_url, "return_url") if return_url is not None else None,
    )
    return PortalLink(token=token, claims=claims, url=portal_url(public_url, org.slug, token))
