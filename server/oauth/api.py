"""Sign-in providers (``/v1/oauth-providers``): GitHub, Google and one OpenID Connect issuer per merchant;
client secrets go in and never come out. Customers' connected accounts, read-only
(``/v1/customers/{id}/connected-accounts``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath

from server.customers import service as customers
from server.db.tables import OAuthProvider, Organization
from server.enums import OAuthProviderKind
from server.http.openapi import API_KEY_SECURITY, example_body, problems
from server.oauth import connected_accounts
from server.oauth import providers as oauth_providers
from server.oauth.schemas import (
    OAUTH_PROVIDER_EXAMPLE,
    ConnectedAccountOut,
    OAuthProviderOut,
    OAuthProviderPut,
)
from server.schemas.common import Page
from server.security.keyring import Keyring
from server.settings import Settings


def _out(settings: Settings, org: Organization, row: OAuthProvider) -> OAuthProviderOut:
    kind = OAuthProviderKind(row.provider)
    return OAuthProviderOut.of(
        row,
        name=oauth_providers.display_name(row),
        callback_url=oauth_providers.callback_url(settings.public_url, org.slug, kind),
    )


class OAuthProviderController(Controller):
    path = "/v1/oauth-providers"
    tags = ["oauth-providers"]
    security = API_KEY_SECURITY

    @get("/", operation_id="listOAuthProviders", responses=problems())
    async def list_providers(
        self, org: NamedDependency[Organization], settings: NamedDependency[Settings]
    ) -> Page[OAuthProviderOut]:
        """The sign-in providers you configured (at most one of each kind), without secrets."""
        rows = await oauth_providers.list_providers(org.id)
        return Page(items=[_out(settings, org, row) for row in rows], next_cursor=None)

    @get("/{provider:str}", operation_id="getOAuthProvider", responses=problems(404))
    async def get_provider(
        self,
        org: NamedDependency[Organization],
        settings: NamedDependency[Settings],
        provider: FromPath[OAuthProviderKind],
    ) -> OAuthProviderOut:
        """One provider, with the callback URL to register with it."""
        return _out(settings, org, await oauth_providers.get_provider(org.id, provider))

    @put("/{provider:str}", operation_id="putOAuthProvider", responses=problems(writes=True))
    async def put_provider(
        self,
        org: NamedDependency[Organization],
        keyring: NamedDependency[Keyring],
        settings: NamedDependency[Settings],
        provider: FromPath[OAuthProviderKind],
        data: Annotated[OAuthProviderPut, example_body(OAUTH_PROVIDER_EXAMPLE)],
    ) -> OAuthProviderOut:
        """Offer sign-in with ``github``, ``google`` or ``oidc`` (any OpenID Connect provider, by issuer URL,
        whose discovery document is read now: 422 when it cannot be). Register the answer's
        ``callback_url`` with the provider. The client secret is stored encrypted and never returned."""
        row = await oauth_providers.put_provider(
            org.id, provider, data, keyring=keyring, allow_local=settings.allow_local_oauth
        )
        return _out(settings, org, row)

    @delete("/{provider:str}", operation_id="deleteOAuthProvider", responses=problems(404))
    async def delete_provider(
        self, org: NamedDependency[Organization], provider: FromPath[OAuthProviderKind]
    ) -> None:
        """Stop offering a provider. Connected accounts stay, and work again if you set it up again."""
        await oauth_providers.delete_provider(org.id, provider)


class ConnectedAccountController(Controller):
    path = "/v1/customers/{customer_id:uuid}/connected-accounts"
    tags = ["customers"]
    security = API_KEY_SECURITY

    @get("/", operation_id="listConnectedAccounts", responses=problems(404))
    async def list_connected_accounts(
        self, org: NamedDependency[Organization], customer_id: FromPath[UUID]
    ) -> Page[ConnectedAccountOut]:
        """The provider accounts the customer connected in the portal (each signs them in)."""
        customer = await customers.get_customer(org.id, customer_id)
        rows = await connected_accounts.list_connected_accounts(org.id, customer.id)
        return Page(items=[ConnectedAccountOut.of(row) for row in rows], next_cursor=None)
