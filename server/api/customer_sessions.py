"""``POST /v1/customer-sessions``: mint a portal token for a customer (CONTRACT §5)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, post
from litestar.di import NamedDependency

from server.api.openapi import example_body, problems
from server.auth.tokens import issue_portal_token
from server.db.tables import Organization
from server.errors import Invalid
from server.schemas.customer_sessions import (
    CUSTOMER_SESSION_EXAMPLE,
    CustomerSessionCreate,
    CustomerSessionOut,
)
from server.schemas.portal_settings import load_portal_settings
from server.schemas.validators import check_url
from server.security.keyring import Keyring
from server.services.customers import get_customer, get_customer_by_external_id
from server.settings import Settings


class CustomerSessionController(Controller):
    path = "/v1/customer-sessions"
    tags = ["customer-sessions"]

    @post("/", operation_id="createCustomerSession", responses=problems(404, writes=True))
    async def create_customer_session(
        self,
        request: Request[Any, Any, Any],
        org: NamedDependency[Organization],
        keyring: NamedDependency[Keyring],
        data: Annotated[CustomerSessionCreate, example_body(CUSTOMER_SESSION_EXAMPLE)],
    ) -> CustomerSessionOut:
        """A single-use portal token for one customer, and the hosted portal URL that carries it."""
        if (data.customer_id is None) == (data.external_customer_id is None):
            raise Invalid("give exactly one of customer_id and external_customer_id")
        if data.customer_id is not None:
            customer = await get_customer(org.id, data.customer_id)
        else:
            customer = await get_customer_by_external_id(org.id, data.external_customer_id or "")
        if customer.deleted_at is not None:
            raise Invalid("this customer is archived")
        return_url = check_url(data.return_url, "return_url") if data.return_url is not None else None
        token, claims = issue_portal_token(
            org_id=org.id,
            customer_id=customer.id,
            secret=keyring.secret_keys[-1],
            ttl=data.ttl_seconds or load_portal_settings(org).default_token_ttl,
            views=data.views,
            read_only=data.read_only,
            return_url=return_url,
        )
        settings: Settings = request.app.state.settings
        return CustomerSessionOut(
            id=claims.jti,
            token=token,
            expires_at=claims.expires_at,
            customer_portal_url=f"{settings.public_url}/portal/{org.slug}#token={token}",
            customer_id=str(customer.id),
        )
