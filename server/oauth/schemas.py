"""Sign-in providers in the merchant API (``/v1/oauth-providers``) and customers' connected accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import Meta

from server.db.tables import ConnectedAccount, OAuthProvider
from server.enums import OAuthProviderKind
from server.schemas.common import END

Printable = rf"^[!-~]+{END}"
ClientId = Annotated[str, Meta(min_length=1, max_length=500, pattern=Printable)]
ClientSecret = Annotated[str, Meta(min_length=1, max_length=2000, pattern=Printable)]
Issuer = Annotated[
    str,
    Meta(
        max_length=2000,
        pattern=rf"^https?://[!-~]+{END}",
        description="The OpenID Connect issuer; its /.well-known/openid-configuration is read at once.",
        examples=["https://login.example.com"],
    ),
]
DisplayName = Annotated[
    str,
    Meta(max_length=100, pattern=rf"^[^\x00-\x1f\x7f]*{END}", description='Shown as "Continue with <name>".'),
]


class OAuthProviderPut(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    client_id: ClientId
    """The client (app) id the provider gave you."""
    client_secret: ClientSecret | None = None
    """Its secret: required the first time, left out to keep the stored one. Never returned."""
    issuer: Issuer | None = None
    """``oidc`` only (and required there); GitHub and Google have fixed endpoints."""
    name: DisplayName | None = None
    """``oidc`` only: the provider's name on the sign-in page (default "single sign-on")."""
    enabled: bool = True
    """A disabled provider keeps its settings and connected accounts but is not offered."""


class OAuthProviderOut(msgspec.Struct, kw_only=True, frozen=True):
    provider: OAuthProviderKind
    name: str
    client_id: str
    issuer: str | None
    enabled: bool
    callback_url: str
    """Register this as the app's redirect (callback) URL with the provider."""
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: OAuthProvider, *, name: str, callback_url: str) -> OAuthProviderOut:
        return cls(
            provider=OAuthProviderKind(row.provider),
            name=name,
            client_id=row.client_id,
            issuer=row.issuer or None,
            enabled=row.enabled,
            callback_url=callback_url,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


class ConnectedAccountOut(msgspec.Struct, kw_only=True, frozen=True):
    id: str
    customer_id: str
    provider: OAuthProviderKind
    subject: str
    """The provider's id for the person (OpenID ``sub``, GitHub user id)."""
    email: str
    """The address the provider gave when the account was connected."""
    created_at: datetime
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: ConnectedAccount) -> ConnectedAccountOut:
        return cls(
            id=str(row.id),
            customer_id=str(row.customer),
            provider=OAuthProviderKind(row.provider),
            subject=row.subject,
            email=row.email,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
        )


OAUTH_PROVIDER_EXAMPLE = {
    "client_id": "0oa1b2c3d4e5f6g7h8i9",
    "client_secret": "s3cr3t-from-the-provider",
    "issuer": "https://login.example.com",
    "name": "Example SSO",
}
