"""Which card processor each merchant uses, as the API and the CLI configure it: the ``sandbox`` (the default,
no row) or ``stripe`` (one ``ss_payment_provider`` row, its secret key and webhook signing secret encrypted at
rest with the key list).

Charging happens deep inside billing jobs that know an org and a card, not the app's settings, so the app,
the worker and the CLI call ``configure`` once at start with what decrypting the keys and reaching Stripe
take (the same pattern as ``server.clock``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import UUID

from server import clock
from server.billing.providers import PaymentProvider
from server.billing.sandbox import SANDBOX
from server.billing.schemas import PaymentProviderOut, PaymentProviderPut
from server.billing.stripe_provider import StripeProvider
from server.db.constraints import unique_or_conflict
from server.db.engine import write_transaction
from server.db.point_reads import read_row
from server.db.tables import PaymentProviderConfig
from server.errors import Conflict, Invalid
from server.security.keyring import Keyring
from server.settings import Settings

STRIPE = "stripe"


@dataclass(frozen=True)
class _Context:
    keyring: Keyring
    stripe_api_base: str
    stripe_js_url: str
    public_url: str


_context: _Context | None = None


def configure(settings: Settings, keyring: Keyring) -> None:
    """Let charges and refunds reach the merchants' processors (called by the app, worker and CLI)."""
    global _context
    _context = _Context(
        keyring=keyring,
        stripe_api_base=settings.stripe_api_base,
        stripe_js_url=settings.stripe_js_url,
        public_url=settings.public_url,
    )


def _configured() -> _Context:
    if _context is None:
        raise RuntimeError("payment_providers.configure was not called")
    return _context


async def get_config(org_id: UUID) -> PaymentProviderConfig | None:
    """The merchant's processor other than the sandbox, if any (every portal page asks: a point read)."""
    return await read_row(PaymentProviderConfig, "org = {}", org_id)


STRIPE_FRAMES = "https://hooks.stripe.com"
"""Where Stripe.js frames 3-D Secure challenges (besides its own origin)."""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


async def script_origins(org_id: UUID, *, settings: Settings) -> tuple[str, ...]:
    """What a portal page of the merchant must allow for its processor's script: Stripe.js, the frames it
    opens and the API it calls; nothing on the sandbox."""
    if await get_config(org_id) is None:
        return ()
    origins = {_origin(settings.stripe_js_url), _origin(settings.stripe_api_base)}
    if settings.stripe_js_url == Settings.stripe_js_url:
        origins.add(STRIPE_FRAMES)
    return tuple(sorted(origins))


def webhook_url(public_url: str, org_slug: str) -> str:
    """Where the merchant's Stripe account sends its events."""
    return f"{public_url}/webhooks/stripe/{org_slug}"


def describe(config: PaymentProviderConfig | None, *, public_url: str, org_slug: str) -> PaymentProviderOut:
    """What the API and the CLI show: never a secret, only the last four characters of the secret key."""
    if config is None:
        return PaymentProviderOut(
            provider="sandbox", publishable_key=None, secret_key_last4=None, webhook_url=None, updated_at=None
        )
    return PaymentProviderOut(
        provider="stripe",
        publishable_key=config.publishable_key,
        secret_key_last4=config.secret_key_hint,
        webhook_url=webhook_url(public_url, org_slug),
        updated_at=config.updated_at,
    )


async def put_provider(
    org_id: UUID, data: PaymentProviderPut, *, keyring: Keyring
) -> PaymentProviderConfig | None:
    """Choose the merchant's processor. Back to the sandbox forgets the Stripe keys; cards saved on Stripe
    stay listed but cannot be charged until Stripe is set up again."""
    if data.provider == "sandbox":
        if data.secret_key or data.publishable_key or data.webhook_secret:
            raise Invalid(
                "the sandbox takes no keys: leave out secret_key, publishable_key and webhook_secret"
            )
        await PaymentProviderConfig.delete().where(PaymentProviderConfig.org == org_id)
        return None
    now = clock.now()
    with unique_or_conflict("the payment provider was changed at the same moment; try again"):
        async with write_transaction():
            row = await get_config(org_id)
            if row is None and not (data.secret_key and data.publishable_key and data.webhook_secret):
                raise Invalid("connecting Stripe takes secret_key, publishable_key and webhook_secret")
            if row is None:
                row = PaymentProviderConfig(org=org_id, provider=STRIPE, created_at=now)
            if data.secret_key:
                if data.publishable_key and _mode(data.secret_key) != _mode(data.publishable_key):
                    raise Invalid("the secret and publishable keys must both be test keys or both live keys")
                row.secret_key_encrypted = keyring.box.encrypt(data.secret_key)
                row.secret_key_hint = data.secret_key[-4:]
            if data.publishable_key:
                row.publishable_key = data.publishable_key
            if data.webhook_secret:
                row.webhook_secret_encrypted = keyring.box.encrypt(data.webhook_secret)
            row.updated_at = now
            await row.save()
    return row


def _mode(key: str) -> str:
    return "live" if "_live_" in key else "test"


def stripe_of(config: PaymentProviderConfig) -> StripeProvider:
    context = _configured()
    return StripeProvider(
        context.keyring.box.decrypt(config.secret_key_encrypted), api_base=context.stripe_api_base
    )


def mail_context() -> tuple[Keyring, str]:
    """The keyring (mail is stored encrypted) and the public URL, for the email asking a customer to confirm
    a payment."""
    context = _configured()
    return context.keyring, context.public_url


def stripe_js_url() -> str:
    """The Stripe.js the portal's card form loads."""
    return _configured().stripe_js_url


def webhook_secret_of(config: PaymentProviderConfig) -> str:
    return _configured().keyring.box.decrypt(config.webhook_secret_encrypted)


async def stripe_for(org_id: UUID) -> StripeProvider | None:
    """The merchant's Stripe account, or None when it is on the sandbox."""
    config = await get_config(org_id)
    return stripe_of(config) if config is not None else None


async def provider_for(org_id: UUID, name: str) -> PaymentProvider:
    """The processor that holds a saved card of provider ``name``."""
    if name == SANDBOX.name:
        return SANDBOX
    if name == STRIPE:
        stripe = await stripe_for(org_id)
        if stripe is not None:
            return stripe
    raise Conflict(f"this card is saved with {name}, which this merchant no longer uses")
