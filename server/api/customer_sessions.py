"""``POST /v1/customer-sessions``: mint a portal token for a customer (CONTRACT §5)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, post

from server.api.deps import authenticate_mint
from server.api.openapi import API_KEY_SECURITY, example_body, problems
from server.schemas.customer_sessions import (
    CUSTOMER_SESSION_EXAMPLE,
    CustomerSessionCreate,
    CustomerSessionOut,
)
from server.security.keyring import Keyring
from server.services.customer_sessions import CustomerRef, portal_link
from server.settings import Settings
from server.state import AnyRequest, app_state


class CustomerSessionController(Controller):
    path = "/v1/customer-sessions"
    tags = ["customer-sessions"]
    security = API_KEY_SECURITY

    @post("/", operation_id="createCustomerSession", responses=problems(404, writes=True))
    async def create_customer_session(
        self,
        request: AnyRequest,
        data: Annotated[CustomerSessionCreate, example_body(CUSTOMER_SESSION_EXAMPLE)],
    ) -> CustomerSessionOut:
        """A single-use portal token for one customer, and the hosted portal URL that carries it."""
        # Not the ``org`` dependency: the key and the customer are found in one statement.
        customer = CustomerRef(data.customer_id, data.external_customer_id)
        caller = await authenticate_mint(request, customer)
        settings: Settings = app_state(request).settings
        keyring: Keyring = app_state(request).keyring
        link = portal_link(
            caller.org,
            customer.live_id(caller.customer),
            secret=keyring.secret_keys[-1],
            public_url=settings.public_url,
            ttl=data.ttl_seconds,
            views=data.views,
            read_only=data.read_only,
            return_url=data.return_url,
        )
        return CustomerSessionOut(
            id=link.claims.jti,
            token=link.token,
            expires_at=link.claims.expires_at,
            customer_portal_url=link.url,
            customer_id=link.claims.sub,
        )
