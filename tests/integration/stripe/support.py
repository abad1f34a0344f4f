"""What Stripe.js does in the customer's browser, done over HTTP against localstripe, for the tests that
are not browser journeys."""

from __future__ import annotations

import httpx

from server.billing import payments
from tests.integration.stripe.conftest import PUBLISHABLE_KEY

VISA = "4242424242424242"
DECLINED_ON_CHARGE = "4000000000000341"
NEEDS_AUTHENTICATION = "4000002760003184"
"""Authenticated once when saved, and every off-session charge asks the customer to authenticate again."""


async def confirm_card_setup(localstripe, client_secret: str, number: str = VISA) -> str:
    """Confirm a SetupIntent with a card, as ``stripe.confirmCardSetup`` does; the SetupIntent's id."""
    setup_intent = client_secret.split("_secret_")[0]
    url = f"{localstripe.url}/v1/setup_intents/{setup_intent}/confirm"
    card = {"number": number, "exp_month": "12", "exp_year": "2034", "cvc": "123"}
    async with httpx.AsyncClient() as http:
        body = {"key": PUBLISHABLE_KEY, "client_secret": client_secret}
        response = await http.post(url, json={**body, "payment_method_data": {"type": "card", "card": card}})
        response.raise_for_status()
        if response.json()["status"] == "requires_action":  # the 3-D Secure challenge, passed
            (await http.post(url, json=body)).raise_for_status()
    return setup_intent


async def add_stripe_card(localstripe, keyring, org_id, customer_id, number: str = VISA, **kwargs):
    client_secret = await payments.start_card_setup(org_id, customer_id)
    setup_intent = await confirm_card_setup(localstripe, client_secret, number)
    return await payments.add_stripe_card(org_id, customer_id, setup_intent, keyring=keyring, **kwargs)
