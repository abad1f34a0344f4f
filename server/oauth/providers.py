"""The sign-in providers a merchant offers (GitHub, Google, one OpenID Connect issuer), as the API and the
CLI configure them and the portal uses them. Client secrets are encrypted at rest with the key list
(``Keyring.box``); an issuer's endpoints are found by discovery when it is saved (Google's on first use)."""

from __future__ import annotations

from uuid import UUID

import msgspec

from server import clock
from server.activity import record_merchant_activity
from server.auth.oauth import GOOGLE_ISSUER, NAMES, Endpoints, ProviderClient, discover, github_endpoints
from server.db.constraints import unique_or_conflict
from server.db.engine import write_transaction
from server.db.tables import OAuthProvider
from server.enums import OAuthProviderKind
from server.errors import Invalid, NotFound
from server.oauth.schemas import OAuthProviderPut
from server.schemas.common import json_value
from server.security.keyring import Keyring
from server.settings import Settings

DEFAULT_OIDC_NAME = "single sign-on"


def display_name(row: OAuthProvider) -> str:
    """What "Continue with …" names: GitHub, Google, or the name the merchant gave its issuer."""
    return NAMES.get(OAuthProviderKind(row.provider)) or row.display_name or DEFAULT_OIDC_NAME


class SignInOption(msgspec.Struct, frozen=True):
    """A "Continue with …" button on the sign-in page."""

    provider: str
    name: str


async def sign_in_options(org_id: UUID) -> list[SignInOption]:
    return [
        SignInOption(provider=row.provider, name=display_name(row))
        for row in await list_providers(org_id, enabled_only=True)
    ]


async def provider_names(org_id: UUID) -> dict[str, str]:
    """The name of each kind of provider as the merchant's customers see it, configured or not."""
    names = {kind.value: NAMES.get(kind, DEFAULT_OIDC_NAME) for kind in OAuthProviderKind}
    return {**names, **{row.provider: display_name(row) for row in await list_providers(org_id)}}


def callback_url(public_url: str, org_slug: str, kind: OAuthProviderKind) -> str:
    """The redirect URL to register with the provider (CONTRACT §9)."""
    return f"{public_url}/portal/{org_slug}/oauth/{kind}/callback"


async def get_provider(org_id: UUID, kind: OAuthProviderKind) -> OAuthProvider:
    row = (
        await OAuthProvider.objects()
        .where(OAuthProvider.org == org_id, OAuthProvider.provider == kind.value)
        .first()
    )
    if row is None:
        raise NotFound(f"no {kind} sign-in is configured")
    return row


async def list_providers(org_id: UUID, *, enabled_only: bool = False) -> list[OAuthProvider]:
    """The merchant's providers in a fixed order (GitHub, Google, OpenID Connect)."""
    query = OAuthProvider.objects().where(OAuthProvider.org == org_id)
    if enabled_only:
        query = query.where(OAuthProvider.enabled.eq(True))
    order = list(OAuthProviderKind)
    return sorted(await query, key=lambda row: order.index(OAuthProviderKind(row.provider)))


async def put_provider(
    org_id: UUID, kind: OAuthProviderKind, data: OAuthProviderPut, *, keyring: Keyring, allow_local: bool
) -> OAuthProvider:
    """Create or replace the merchant's ``kind`` provider. An OpenID Connect issuer is checked by reading its
    discovery document now, so a wrong URL is refused here rather than at a customer's sign-in."""
    if kind is OAuthProviderKind.OIDC and not data.issuer:
        raise Invalid("an OpenID Connect provider needs its issuer URL")
    if kind is not OAuthProviderKind.OIDC and (data.issuer is not None or data.name is not None):
        raise Invalid(f"{kind} has fixed endpoints and name: leave out issuer and name")
    metadata: dict[str, object] = {}
    if data.issuer:
        metadata = msgspec.to_builtins(await discover(data.issuer, allow_local=allow_local))
    now = clock.now()
    with unique_or_conflict(f"{kind} sign-in was configured at the same moment; try again"):
        async with write_transaction():
            row = (
                await OAuthProvider.objects()
                .where(OAuthProvider.org == org_id, OAuthProvider.provider == kind.value)
                .first()
            )
            if row is None and data.client_secret is None:
                raise Invalid("client_secret is required when a provider is first configured")
            if row is None:
                row = OAuthProvider(org=org_id, provider=kind.value, created_at=now)
            row.client_id = data.client_id
            if data.client_secret is not None:
                row.client_secret_encrypted = keyring.box.encrypt(data.client_secret)
            row.issuer = (data.issuer or "").rstrip("/")
            row.display_name = (data.name or "").strip()
            row.metadata = msgspec.json.encode(metadata).decode()
            row.enabled = data.enabled
            row.updated_at = now
            await row.save()
            await record_merchant_activity(org_id, "oauth_provider.set", provider=kind.value)
    return row


async def delete_provider(org_id: UUID, kind: OAuthProviderKind) -> None:
    """Stop offering ``kind``. Customers' connected accounts stay, and work again if it is set up again."""
    async with write_transaction():
        row = await get_provider(org_id, kind)
        await row.remove()
        await record_merchant_activity(org_id, "oauth_provider.removed", provider=kind.value)


async def provider_client(
    org_id: UUID, kind: OAuthProviderKind, *, keyring: Keyring, settings: Settings
) -> ProviderClient:
    """An enabled provider ready for a sign-in flow (``NotFound`` when the merchant does not offer it)."""
    row = await get_provider(org_id, kind)
    if not row.enabled:
        raise NotFound(f"{kind} sign-in is switched off")
    if kind is OAuthProviderKind.GITHUB:
        endpoints = github_endpoints(settings.github_oauth_base, settings.github_api_base)
    else:
        endpoints = await _openid_endpoints(row, allow_local=settings.allow_local_oauth)
    return ProviderClient(
        kind=kind,
        client_id=row.client_id,
        client_secret=keyring.box.decrypt(row.client_secret_encrypted),
        endpoints=endpoints,
        allow_local=settings.allow_local_oauth,
    )


async def _openid_endpoints(row: OAuthProvider, *, allow_local: bool) -> Endpoints:
    """The stored discovery result; Google's is read on first use (its issuer is fixed, so saving it needs
    no network) and kept."""
    stored = json_value(row.metadata) or {}
    if stored:
        return msgspec.convert(stored, Endpoints)
    found = await discover(row.issuer or GOOGLE_ISSUER, allow_local=allow_local)
    await OAuthProvider.update({OAuthProvider.metadata: msgspec.json.encode(found).decode()}).where(
        OAuthProvider.id == row.id
    )
    return found
