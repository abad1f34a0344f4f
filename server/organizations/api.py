"""The organization's routes: the organization the API key belongs to (``/v1/organization``), secret
API keys (``/v1/api-keys``: list, create, shown once, revoke), and customer sessions
(``POST /v1/customer-sessions``: a portal token for one customer, CONTRACT §5)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from server.db.tables import Organization
from server.http.openapi import API_KEY_SECURITY, CursorParam, LimitParam, example_body, problems
from server.http.types import AnyRequest
from server.organizations import api_keys
from server.organizations.customer_sessions import CustomerRef, portal_link
from server.organizations.deps import authenticate_mint
from server.organizations.schemas import (
    CUSTOMER_SESSION_EXAMPLE,
    ApiKeyCreate,
    ApiKeyOut,
    CreatedApiKeyOut,
    CustomerSessionCreate,
    CustomerSessionOut,
)
from server.schemas.common import Page
from server.security.keyring import Keyring
from server.settings import Settings


class OrganizationOut(msgspec.Struct, frozen=True):
    id: str
    name: str
    slug: str
    allowed_origins: list[str]
    created_at: datetime


class OrganizationController(Controller):
    path = "/v1/organization"
    tags = ["organization"]
    security = API_KEY_SECURITY

    @get("/", operation_id="getOrganization", responses=problems())
    async def get_organization(self, org: NamedDependency[Organization]) -> OrganizationOut:
        """The merchant this key belongs to: a cheap way to check a key works."""
        origins = org.allowed_origins
        if isinstance(origins, str):
            origins = msgspec.json.decode(origins)
        return OrganizationOut(
            id=str(org.id),
            name=org.name,
            slug=org.slug,
            allowed_origins=list(origins),
            created_at=org.created_at,
        )


class ApiKeyController(Controller):
    path = "/v1/api-keys"
    tags = ["api-keys"]
    security = API_KEY_SECURITY

    @get("/", operation_id="listApiKeys", responses=problems(422))
    async def list_api_keys(
        self,
        org: NamedDependency[Organization],
        limit: Annotated[int, LimitParam] = 20,
        cursor: Annotated[str | None, CursorParam] = None,
    ) -> Page[ApiKeyOut]:
        """Your keys, revoked ones included; never the keys themselves."""
        page = await api_keys.list_api_keys(org.id, limit=limit, cursor=cursor)
        return Page(items=[ApiKeyOut.of(k) for k in page.items], next_cursor=page.next_cursor)

    @post("/", operation_id="createApiKey", responses=problems(writes=True))
    async def create_api_key(
        self,
        org: NamedDependency[Organization],
        keyring: NamedDependency[Keyring],
        data: Annotated[ApiKeyCreate, example_body({"name": "billing backend"})],
    ) -> CreatedApiKeyOut:
        """A new secret key, shown in this response only."""
        row, plaintext = await api_keys.create_api_key(keyring, org, name=data.name)
        return CreatedApiKeyOut(**msgspec.structs.asdict(ApiKeyOut.of(row)), key=plaintext)

    @delete("/{key_id:uuid}", operation_id="revokeApiKey", status_code=200, responses=problems(404))
    async def revoke_api_key(self, org: NamedDependency[Organization], key_id: FromPath[UUID]) -> ApiKeyOut:
        """Revoke a key: requests with it are refused from now on (even this key's own)."""
        return ApiKeyOut.of(await api_keys.revoke_api_key(org.id, key_id))


class CustomerSessionController(Controller):
    path = "/v1/customer-sessions"
    tags = ["customer-sessions"]
    security = API_KEY_SECURITY

    @post("/", operation_id="createCustomerSession", responses=problems(404, writes=True))
    async def create_customer_session(
        self,
        request: AnyRequest,
        settings: NamedDependency[Settings],
        keyring: NamedDependency[Keyring],
        data: Annotated[CustomerSessionCreate, example_body(CUSTOMER_SESSION_EXAMPLE)],
    ) -> CustomerSessionOut:
        """A single-use portal token for one customer, and the hosted portal URL that carries it."""
        # Not the ``org`` dependency: the key and the customer are found in one statement.
        customer = CustomerRef(data.customer_id, data.external_customer_id)
        caller = await authenticate_mint(request, customer)
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
