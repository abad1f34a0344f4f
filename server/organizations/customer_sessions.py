"""A portal link for one customer, shared by ``POST /v1/customer-sessions`` and ``selfserve token``.

The API finds the customer in the same statement as the caller's API key (``authenticate_api_key``);
``selfserve token`` finds it with ``find_customer``. Both then sign with ``portal_link``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

import msgspec

from server.auth.tokens import PortalClaims, issue_portal_token
from server.db.point_reads import read_one
from server.db.tables import Organization
from server.errors import Invalid, NotFound
from server.schemas.portal_settings import PortalSettings
from server.schemas.validators import check_url

CustomerColumn = Literal["id", "external_id"]
_FIND_CUSTOMER: dict[CustomerColumn, str] = {
    "id": "SELECT CAST(id AS TEXT) AS id, deleted_at IS NOT NULL AS archived FROM ss_customer "
    "WHERE org = {} AND id = {}",
    "external_id": "SELECT CAST(id AS TEXT) AS id, deleted_at IS NOT NULL AS archived FROM ss_customer "
    "WHERE org = {} AND external_id = {}",
}


class _TokenDefaults(msgspec.Struct):
    """The one portal setting a mint reads (decoding them all took a third of the signing time)."""

    default_token_ttl: int = PortalSettings().default_token_ttl


def _default_ttl(portal_settings: str | bytes | dict[str, Any] | None) -> int:
    """``default_token_ttl`` from the organization's ``portal_settings`` column, as either driver gives it."""
    if isinstance(portal_settings, dict):
        return msgspec.convert(portal_settings, _TokenDefaults).default_token_ttl
    return msgspec.json.decode(portal_settings or b"{}", type=_TokenDefaults).default_token_ttl


@dataclass(frozen=True)
class PortalLink:
    token: str
    claims: PortalClaims
    url: str
    """The hosted portal with the token in the fragment (never the query: fragments stay out of logs)."""


@dataclass(frozen=True)
class FoundCustomer:
    id: str
    """As the token carries it."""
    archived: bool


@dataclass(frozen=True)
class CustomerRef:
    """The customer a mint names, by id or by external id: exactly one, which ``live_id`` checks."""

    customer_id: UUID | None = None
    external_customer_id: str | None = None

    @property
    def match(self) -> tuple[CustomerColumn, UUID | str] | None:
        """The ``ss_customer`` column and value that pick the customer; None unless exactly one is given."""
        if self.external_customer_id is None:
            return None if self.customer_id is None else ("id", self.customer_id)
        return None if self.customer_id is not None else ("external_id", self.external_customer_id)

    def live_id(self, found: FoundCustomer | None) -> str:
        """The id of ``found``, the customer this names: 422 unless exactly one of the two is given, 404
        when the organization has no such customer, 422 when it is archived."""
        if self.match is None:
            raise Invalid("give exactly one of customer_id and external_customer_id")
        if found is None:
            if self.customer_id is not None:
                raise NotFound(f"no customer {self.customer_id}")
            raise NotFound(f"no customer with external_id {self.external_customer_id!r}")
        if found.archived:
            raise Invalid("this customer is archived")
        return found.id


async def find_customer(org_id: UUID, ref: CustomerRef) -> FoundCustomer | None:
    """The customer of ``org_id`` that ``ref`` names, live or archived; None when there is none."""
    if ref.match is None:
        return None
    column, value = ref.match
    row = await read_one(_FIND_CUSTOMER[column], org_id, value)
    return FoundCustomer(row["id"], bool(row["archived"])) if row is not None else None


def portal_url(public_url: str, org_slug: str, token: str) -> str:
    return f"{public_url}/portal/{org_slug}#token={token}"


def portal_link(
    org: dict[str, Any],
    customer_id: UUID | str,
    *,
    secret: str,
    public_url: str,
    ttl: int | None = None,
    views: Sequence[str] | None = None,
    read_only: bool = False,
    return_url: str | None = None,
    viewed_by: str | None = None,
) -> PortalLink:
    """A single-use token for a customer already found, signed with ``secret``. ``org`` is the
    organization's row (``id``, ``slug`` and ``portal_settings`` are read); the lifetime defaults to its
    ``default_token_ttl``."""
    token, claims = issue_portal_token(
        org_id=org["id"],
        customer_id=customer_id,
        secret=secret,
        ttl=ttl or _default_ttl(org["portal_settings"]),
        views=views,
        read_only=read_only,
        return_url=check_url(return_url, "return_url") if return_url is not None else None,
        viewed_by=viewed_by,
    )
    return PortalLink(token=token, claims=claims, url=portal_url(public_url, org["slug"], token))


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
    """``portal_link`` for the customer of ``org`` named by id or by external id (exactly one)."""
    ref = CustomerRef(customer_id, external_customer_id)
    return portal_link(
        org.to_dict(),
        ref.live_id(await find_customer(org.id, ref)),
        secret=secret,
        public_url=public_url,
        ttl=ttl,
        views=views,
        read_only=read_only,
        return_url=return_url,
    )
