"""The merchant's card processor (``/v1/payment-provider``): the sandbox by default, or Stripe with the
account's keys. Secrets go in and never come out."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, put
from litestar.di import NamedDependency

from server.api.openapi import API_KEY_SECURITY, example_body, problems
from server.db.tables import Organization
from server.schemas.payment_provider import PAYMENT_PROVIDER_EXAMPLE, PaymentProviderOut, PaymentProviderPut
from server.security.keyring import Keyring
from server.services import payment_providers
from server.settings import Settings
from server.state import AnyRequest, app_state


class PaymentProviderController(Controller):
    path = "/v1/payment-provider"
    tags = ["payment-provider"]
    security = API_KEY_SECURITY

    @get("/", operation_id="getPaymentProvider", responses=problems())
    async def get_provider(
        self, request: AnyRequest, org: NamedDependency[Organization]
    ) -> PaymentProviderOut:
        """Who processes your customers' cards: ``sandbox`` or ``stripe`` (with the publishable key, the
        last four characters of the secret key and the webhook URL to register in Stripe)."""
        settings: Settings = app_state(request).settings
        config = await payment_providers.get_config(org.id)
        return payment_providers.describe(config, public_url=settings.public_url, org_slug=org.slug)

    @put("/", operation_id="putPaymentProvider", responses=problems(writes=True))
    async def put_provider(
        self,
        request: AnyRequest,
        org: NamedDependency[Organization],
        keyring: NamedDependency[Keyring],
        data: Annotated[PaymentProviderPut, example_body(PAYMENT_PROVIDER_EXAMPLE)],
    ) -> PaymentProviderOut:
        """Connect Stripe (``secret_key``, ``publishable_key`` and ``webhook_secret`` the first time; later,
        only what changes) or go back to the ``sandbox``. Secrets are stored encrypted and never returned.
        From then on the portal takes new cards in Stripe.js: card numbers never reach selfserve."""
        settings: Settings = app_state(request).settings
        config = await payment_providers.put_provider(org.id, data, keyring=keyring)
        return payment_providers.describe(config, public_url=settings.public_url, org_slug=org.slug)
