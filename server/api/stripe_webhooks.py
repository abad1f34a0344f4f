"""``POST /webhooks/stripe/{org_slug}``: where a merchant's Stripe account sends its events (the URL
``/v1/payment-provider`` shows). No API key: the ``Stripe-Signature`` header, checked against the merchant's
webhook signing secret, is the credential."""

from __future__ import annotations

from litestar import Controller, post
from litestar.params import FromPath

from server.services import stripe_events
from server.state import AnyRequest, app_state


class StripeWebhookController(Controller):
    path = "/webhooks/stripe"
    include_in_schema = False

    @post("/{org_slug:str}", status_code=200)
    async def receive(self, request: AnyRequest, org_slug: FromPath[str]) -> dict[str, str]:
        """200 once the event is applied (or was already); 401 for a bad signature, so Stripe retries."""
        outcome = await stripe_events.receive(
            org_slug,
            await request.body(),
            request.headers.get("stripe-signature", ""),
            keyring=app_state(request).keyring,
        )
        return {"received": outcome}
