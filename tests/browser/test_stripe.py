"""A merchant on Stripe, in a real Chromium: the customer types a card into Stripe.js (localstripe's, at
``SELFSERVE_STRIPE_JS_URL``) in the embedded portal, and selfserve gets only the confirmed SetupIntent.

The shared stack's merchant is connected to localstripe for this test and put back on the sandbox after it.
Customer changed here (no other test should count on its state): Chloé Dubois."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tests.browser.support import merchant_api, open_portal, webhook_events

CHLOE = "chloe@dubois-conseil.example"
CARD_NUMBER = "4242424242424242"
STRIPE_KEYS = {
    "secret_key": "sk_test_browserjourney",
    "publishable_key": "pk_test_browserjourney",
    "webhook_secret": "whsec_browserjourney",
}


@contextlib.asynccontextmanager
async def connected_to_stripe(stack: Any) -> AsyncIterator[None]:
    async with merchant_api(stack) as api:
        response = await api.put("/v1/payment-provider", json={"provider": "stripe", **STRIPE_KEYS})
        assert response.status_code == 200, response.text
        try:
            yield
        finally:
            await api.put("/v1/payment-provider", json={"provider": "sandbox"})


async def test_a_card_typed_into_stripe_js_is_saved_and_its_number_never_reaches_selfserve(page, stack, host):
    assert CHLOE in stack.customers
    seen_by_selfserve: list[str] = []
    page.on(
        "request",
        lambda request: (
            seen_by_selfserve.append(request.post_data or "")
            if request.url.startswith(stack.portal_url)
            else None
        ),
    )
    async with connected_to_stripe(stack):
        frame = await open_portal(page, host, CHLOE, view="settings", org=stack.slug, locale="en")
        cards = frame.locator("#payment-methods")
        await cards.get_by_text("Add a card").click()
        await cards.get_by_text("Your card details go straight to our payment processor, Stripe.").wait_for()
        element = cards.locator("[data-stripe-element]")
        await element.get_by_placeholder("number").fill(CARD_NUMBER)
        await element.get_by_placeholder("exp_month").fill("12")
        await element.get_by_placeholder("exp_year").fill("34")
        await element.get_by_placeholder("cvc").fill("123")
        await element.get_by_placeholder("postal_code").fill("75001")
        await cards.get_by_role("button", name="Save card").click()
        await frame.get_by_text("Card added.").wait_for()
        await cards.get_by_text("Visa •••• 4242 · expires 12/2034").wait_for()

        async with merchant_api(stack) as api:
            listed = await api.get(f"/v1/customers/{stack.customers[CHLOE]}/payment-methods")
        assert listed.status_code == 200, listed.text
        saved = [m for m in listed.json()["items"] if m["exp_year"] == 2034 and m["is_default"]]
        assert len(saved) == 1
        events = await webhook_events(
            stack, "payment_method.updated", lambda data: data["id"] == saved[0]["id"]
        )
        assert events[0]["data"]["brand"] == "visa"
        assert seen_by_selfserve, "the page talked to selfserve"
        assert not [body for body in seen_by_selfserve if CARD_NUMBER in body]

        async with merchant_api(stack) as api:
            await api.delete(f"/v1/customers/{stack.customers[CHLOE]}/payment-methods/{saved[0]['id']}")
