"""A merchant on Stripe, in a real Chromium: the customer types a card into Stripe.js (localstripe's, at
``SELFSERVE_STRIPE_JS_URL``) in the embedded portal, and selfserve gets only the confirmed SetupIntent.

The shared stack's merchant is connected to localstripe for this test and put back on the sandbox after it.
Then a second card is typed in without being the default and made the default from its row: the page,
the API and a verified ``payment_method.updated`` webhook agree.

A new customer adds a card the same way, is upgraded from the portal (charged as a Stripe PaymentIntent)
and cancels right away (the unused time refunded through Stripe Refunds), each step checked on the page,
in the API and in verified webhooks. A payment the bank asks the customer to authenticate (3-D Secure) is
confirmed with the Confirm payment button on the embedded portal's orders, on the hosted portal's orders and
on the subscription whose upgrade it pays.

Customer changed here (no other test should count on its state): Chloé Dubois."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import expect

from tests.browser.journey import Merchant, Portal, cents, day, money
from tests.browser.support import (
    database_dump,
    emails_to,
    merchant_api,
    open_portal,
    wait_event,
    webhook_events,
)

CHLOE = "chloe@dubois-conseil.example"
CARD_NUMBER = "4242424242424242"
SECOND_CARD = "4000056655665556"
NEEDS_AUTHENTICATION = "4000002760003184"
"""Authenticated once when saved, and every off-session charge asks the customer to authenticate again."""
STRIPE_KEYS = {
    "secret_key": "sk_test_browserjourney",
    "publishable_key": "pk_test_browserjourney",
    "webhook_secret": "whsec_browserjourney",
}


@contextlib.asynccontextmanager
async def connected_to_stripe(stack: Any) -> AsyncIterator[None]:
    """The merchant connects Stripe and has it send its events to ``/webhooks/stripe/{slug}`` (localstripe
    delivers each one, signed with the webhook secret, a second after it happened)."""
    route, secret = f"{stack.portal_url}/webhooks/stripe/{stack.slug}", STRIPE_KEYS["webhook_secret"]
    async with merchant_api(stack) as api:
        response = await api.put("/v1/payment-provider", json={"provider": "stripe", **STRIPE_KEYS})
        assert response.status_code == 200, response.text
        stack.stripe.send_events_to(route, secret)
        try:
            yield
        finally:
            stack.stripe.send_events_to(route, secret, types=[])
            await api.put("/v1/payment-provider", json={"provider": "sandbox"})


def stripe_dashboard(stack: Any) -> httpx.AsyncClient:
    """What the merchant does in Stripe's dashboard, done with their secret key against localstripe."""
    return httpx.AsyncClient(base_url=stack.stripe.url, auth=(STRIPE_KEYS["secret_key"], ""), timeout=10)


async def type_card(cards: Any, number: str, *, make_default: bool = True) -> None:
    """Open "Add a card", type a card into Stripe.js's Element and save it."""
    hint = cards.get_by_text("Your card details go straight to our payment processor, Stripe.")
    if not await hint.is_visible():  # the form is open already for a customer without a card
        await cards.get_by_text("Add a card").click()
    await hint.wait_for()
    element = cards.locator("[data-stripe-element]")
    await element.get_by_placeholder("number").fill(number)
    await element.get_by_placeholder("exp_month").fill("12")
    await element.get_by_placeholder("exp_year").fill("34")
    await element.get_by_placeholder("cvc").fill("123")
    await element.get_by_placeholder("postal_code").fill("75001")
    await cards.get_by_label("Use as default for future payments").set_checked(make_default)
    await cards.get_by_role("button", name="Save card").click()


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
        await type_card(cards, CARD_NUMBER)
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

        # a second card, kept aside, then made the default from its row
        await type_card(cards, SECOND_CARD, make_default=False)
        second_row = cards.locator("li", has_text="Visa •••• 5556")
        await second_row.get_by_role("button", name="Make default").click()
        await second_row.get_by_text("Default", exact=True).wait_for()
        first_row = cards.locator("li", has_text="Visa •••• 4242")
        await first_row.get_by_role("button", name="Make default").wait_for()
        assert await first_row.get_by_text("Default", exact=True).count() == 0

        async with merchant_api(stack) as api:
            listed = await api.get(f"/v1/customers/{stack.customers[CHLOE]}/payment-methods")
        ours = {m["last4"]: m for m in listed.json()["items"] if m["exp_year"] == 2034}
        assert (ours["5556"]["is_default"], ours["4242"]["is_default"]) == (True, False)
        made_default = await webhook_events(
            stack,
            "payment_method.updated",
            lambda data: data["id"] == ours["5556"]["id"] and data["is_default"],
        )
        assert made_default[0]["data"]["last4"] == "5556"
        assert not [body for body in seen_by_selfserve if SECOND_CARD in body]
        assert not [body for body in seen_by_selfserve if "cvc" in body.lower()]

        # nor did they reach the database or the server's log, which hold the cards' last four digits
        dump, log = database_dump(stack), Path(stack.server_log).read_text()
        assert "5556" in dump
        assert "/embed/views/settings/" in log  # the saves went through the logged server
        for number in (CARD_NUMBER, SECOND_CARD):
            spaced = " ".join(number[i : i + 4] for i in range(0, 16, 4))
            assert not [place for place in (dump, log) if number in place or spaced in place]

        async with merchant_api(stack) as api:
            for card in ours.values():
                await api.delete(f"/v1/customers/{stack.customers[CHLOE]}/payment-methods/{card['id']}")


async def test_on_stripe_an_upgrade_is_charged_and_cancelling_right_away_refunds_to_the_card(
    page, stack, host
):
    async with connected_to_stripe(stack), merchant_api(stack) as http:
        merchant = Merchant(stack, http)
        customer = await merchant.customer("stripe-upgrade", card=None)
        frame = await open_portal(page, host, customer.email, view="settings", org=stack.slug, locale="en")
        cards = frame.locator("#payment-methods")
        await type_card(cards, CARD_NUMBER)
        await cards.get_by_text("Visa •••• 4242 · expires 12/2034").wait_for()
        pro = await merchant.price("Pro")
        sub = await merchant.post(
            "/v1/subscriptions",
            {"customer_id": customer.id, "price_id": pro["id"], "seats": 1, "trial_days": 0},
        )
        assert sub["status"] == "active"

        # the upgrade, charged through Stripe
        frame = await open_portal(
            page, host, customer.email, view="subscriptions", org=stack.slug, locale="en"
        )
        pro_card = frame.get_by_role("article").filter(
            has=frame.get_by_role("heading", name="Pro", exact=True)
        )
        await pro_card.get_by_role("link", name="Change plan").click()
        flow = frame.get_by_role("region", name="Change plan")
        option = flow.get_by_role("listitem").filter(has=frame.get_by_role("button", name="Switch to API"))
        promised = cents((await option.inner_text()).split("you pay", 1)[1])
        await option.get_by_role("button", name="Switch to API").click()
        await expect(frame.locator(".ss-live")).to_contain_text(
            f"Your plan has changed. {money(promised)} was charged to your card."
        )
        proration = [
            o for o in await merchant.orders(customer) if o["billing_reason"] == "subscription_update"
        ]
        assert [(o["total"], o["status"]) for o in proration] == [(promised, "paid")]
        paid = await webhook_events(stack, "order.paid", lambda data: data["id"] == proration[0]["id"])
        assert len(paid) == 1

        # cancelled right away: the unused time goes back to the card through a Stripe refund
        api_card = frame.get_by_role("article").filter(
            has=frame.get_by_role("heading", name="API", exact=True)
        )
        await api_card.get_by_role("link", name="Cancel subscription").click()
        cancel = frame.get_by_role("region", name="Cancel API")
        await cancel.get_by_label("Right away").check()
        await cancel.get_by_role("button", name="Continue").click()
        review = frame.get_by_role("region", name="What will happen")
        refund = cents(
            await review.get_by_role("listitem").filter(has_text="goes back to your card").inner_text()
        )
        assert 0 < refund <= promised + pro["amount"]
        await review.get_by_role("button", name="Confirm cancellation").click()
        await expect(frame.locator(".ss-live")).to_contain_text("Your subscription has ended.")
        refunded = [o for o in await merchant.orders(customer) if o["refunds"]]
        assert sum(r["amount"] for o in refunded for r in o["refunds"]) == refund
        assert {r["destination"] for o in refunded for r in o["refunds"]} == {"payment_method"}
        for order in refunded:
            events = await webhook_events(
                stack, "order.refunded", lambda data, i=order["id"]: data["id"] == i
            )
            assert events[-1]["data"]["refunded_amount"] == order["refunded_amount"]


async def test_a_payment_the_bank_asks_to_confirm_is_confirmed_in_the_portal_and_paid_once(page, stack, host):
    """3-D Secure: the card asks for authentication on every off-session charge, so the first order waits
    and the customer is emailed a link; the host page hears of it, and the person confirms it in the portal
    (localstripe's bank challenge, in the page) and sees it paid."""
    async with connected_to_stripe(stack), merchant_api(stack) as http:
        merchant = Merchant(stack, http)
        customer = await merchant.customer("stripe-3ds", card=None)
        frame = await open_portal(page, host, customer.email, view="settings", org=stack.slug, locale="en")
        cards = frame.locator("#payment-methods")
        await type_card(cards, NEEDS_AUTHENTICATION)
        await frame.get_by_role("button", name="Complete authentication").click()  # saving it asks once
        await cards.get_by_text("Visa •••• 3184 · expires 12/2034").wait_for()
        pro = await merchant.price("Pro")
        created = await http.post(
            "/v1/subscriptions",
            json={"customer_id": customer.id, "price_id": pro["id"], "seats": 1, "trial_days": 0},
        )
        assert created.status_code < 500, created.text
        [order] = await merchant.orders(customer)
        assert order["status"] == "pending"

        [mail] = await emails_to(stack, customer.email)
        assert mail["Subject"].startswith("Please confirm your payment of")
        assert f"/portal/{stack.slug}?view=orders" in mail.get_body(("plain",)).get_content()

        frame = await open_portal(
            page, host, customer.email, view="subscriptions", org=stack.slug, locale="en"
        )
        due = frame.locator(f"#unpaid-{order['id']}")
        await due.get_by_text("The bank asks you to confirm this payment.").wait_for()
        await expect(due.get_by_role("button", name="Confirm payment")).to_be_visible()
        await expect(due.get_by_role("button", name=re.compile(r"^Pay "))).to_have_count(0)

        frame = await open_portal(page, host, customer.email, view="orders", org=stack.slug, locale="en")
        told = await wait_event(page, "order.confirmation_required")
        assert told[0]["detail"] == {"id": order["id"], "status": "pending"}
        waiting = frame.get_by_role("article").filter(has_text="Needs your confirmation")
        await waiting.get_by_text("The bank asks you to confirm this payment.").wait_for()
        await waiting.get_by_role("button", name="Confirm payment").click()
        await frame.get_by_role("button", name="Complete authentication").click()
        await expect(frame.locator(".ss-live")).to_contain_text("Thank you, the payment went through.")
        await expect(frame.get_by_role("button", name="Confirm payment")).to_have_count(0)
        await expect(frame.get_by_role("article").first.locator(".ss-badge")).to_have_text("Paid")

        [paid] = await merchant.orders(customer)
        assert (paid["id"], paid["status"]) == (order["id"], "paid")
        events = await webhook_events(stack, "order.paid", lambda data: data["id"] == order["id"])
        assert len(events) == 1
        assert events[0]["data"]["status"] == "paid"


async def test_on_the_hosted_portal_a_payment_the_bank_asks_to_confirm_is_confirmed_and_paid_once(
    page, stack
):
    """The same 3-D Secure payment on the hosted portal (signed in by the emailed link): the card typed into
    Stripe.js on its Settings, the Confirm payment button on its Orders, the bank's challenge in the page."""
    async with connected_to_stripe(stack), merchant_api(stack) as http:
        merchant = Merchant(stack, http)
        customer = await merchant.customer("stripe-hosted-3ds", card=None)
        portal = await Portal.open(page, "hosted", stack, customer.email, "Settings")
        cards = portal.ui.locator("#payment-methods")
        await type_card(cards, NEEDS_AUTHENTICATION)
        await portal.ui.get_by_role("button", name="Complete authentication").click()  # saving asks once
        await cards.get_by_text("Visa •••• 3184 · expires 12/2034").wait_for()
        pro = await merchant.price("Pro")
        sub = await merchant.post(
            "/v1/subscriptions",
            {"customer_id": customer.id, "price_id": pro["id"], "seats": 1, "trial_days": 0},
        )
        [order] = await merchant.orders(customer)
        assert (order["status"], sub["status"]) == ("pending", "past_due")
        mail = (await emails_to(stack, customer.email, 2))[-1]  # after the sign-in link
        assert mail["Subject"].startswith("Please confirm your payment of")
        assert f"/portal/{stack.slug}?view=orders" in mail.get_body(("plain",)).get_content()

        await portal.go("Orders")
        waiting = portal.card(f"{order['invoice_number']} · {day(order['created_at'])}")
        await expect(waiting).to_contain_text("Needs your confirmation")
        await waiting.get_by_role("button", name="Confirm payment").click()
        await portal.ui.get_by_role("button", name="Complete authentication").click()
        await portal.says("Thank you, the payment went through.")
        await expect(waiting).to_contain_text("Paid")
        await expect(portal.ui.get_by_role("button", name="Confirm payment")).to_have_count(0)

        [paid] = await merchant.orders(customer)
        assert (paid["id"], paid["status"]) == (order["id"], "paid")
        assert (await merchant.subscription(sub["id"]))["status"] == "active"
        events = await webhook_events(stack, "order.paid", lambda data: data["id"] == order["id"])
        assert [event["data"]["status"] for event in events] == ["paid"]
        portal.assert_clean()


async def test_an_upgrade_the_bank_asks_to_confirm_is_confirmed_from_the_subscriptions_view(
    page, stack, host
):
    """A customer on Pro makes a card that needs 3-D Secure their default and upgrades: the plan changes,
    the upgrade's payment waits for them, and they confirm it right there on the subscription."""
    async with connected_to_stripe(stack), merchant_api(stack) as http:
        merchant = Merchant(stack, http)
        customer = await merchant.customer("stripe-3ds-upgrade", card=None)
        frame = await open_portal(page, host, customer.email, view="settings", org=stack.slug, locale="en")
        cards = frame.locator("#payment-methods")
        await type_card(cards, CARD_NUMBER)
        await cards.get_by_text("Visa •••• 4242 · expires 12/2034").wait_for()
        pro = await merchant.price("Pro")
        sub = await merchant.post(
            "/v1/subscriptions",
            {"customer_id": customer.id, "price_id": pro["id"], "seats": 1, "trial_days": 0},
        )
        assert sub["status"] == "active"
        await type_card(cards, NEEDS_AUTHENTICATION)
        await frame.get_by_role("button", name="Complete authentication").click()
        await cards.locator("li", has_text="Visa •••• 3184").get_by_text("Default", exact=True).wait_for()

        frame = await open_portal(
            page, host, customer.email, view="subscriptions", org=stack.slug, locale="en"
        )
        pro_card = frame.get_by_role("article").filter(
            has=frame.get_by_role("heading", name="Pro", exact=True)
        )
        await pro_card.get_by_role("link", name="Change plan").click()
        flow = frame.get_by_role("region", name="Change plan")
        await flow.get_by_role("button", name="Switch to API").click()
        await expect(frame.locator(".ss-live")).to_contain_text("The bank asks you to confirm this payment.")
        [upgrade] = [
            o for o in await merchant.orders(customer) if o["billing_reason"] == "subscription_update"
        ]
        assert upgrade["status"] == "pending"
        assert (await merchant.subscription(sub["id"]))["status"] == "past_due"

        due = frame.locator(f"#unpaid-{upgrade['id']}")
        await expect(due).to_contain_text("Needs your confirmation")
        await due.get_by_role("button", name="Confirm payment").click()
        await frame.get_by_role("button", name="Complete authentication").click()
        await expect(frame.locator(".ss-live")).to_contain_text("Thank you, the payment went through.")
        await expect(frame.get_by_role("button", name="Confirm payment")).to_have_count(0)

        paid = [o for o in await merchant.orders(customer) if o["id"] == upgrade["id"]]
        assert [o["status"] for o in paid] == ["paid"]
        after = await merchant.subscription(sub["id"])
        assert after["status"] == "active"
        events = await webhook_events(stack, "order.paid", lambda data: data["id"] == upgrade["id"])
        assert [event["data"]["total"] for event in events] == [upgrade["total"]]


async def test_a_default_card_chosen_in_stripes_dashboard_becomes_the_default_in_the_portal(
    page, stack, host
):
    """Stripe's own event, delivered and signed by localstripe: the merchant makes the customer's second card
    the default in Stripe's dashboard, and the portal, the API and a verified webhook follow."""
    async with connected_to_stripe(stack), merchant_api(stack) as http:
        merchant = Merchant(stack, http)
        customer = await merchant.customer("stripe-dashboard", card=None)
        frame = await open_portal(page, host, customer.email, view="settings", org=stack.slug, locale="en")
        cards = frame.locator("#payment-methods")
        await type_card(cards, CARD_NUMBER)
        await cards.get_by_text("Visa •••• 4242 · expires 12/2034").wait_for()
        await type_card(cards, SECOND_CARD, make_default=False)
        await (
            cards.locator("li", has_text="Visa •••• 5556")
            .get_by_role("button", name="Make default")
            .wait_for()
        )

        async with stripe_dashboard(stack) as dashboard:
            found = await dashboard.get("/v1/customers", params={"email": customer.email})
            [stripe_customer] = [c["id"] for c in found.json()["data"]]
            methods = await dashboard.get(
                "/v1/payment_methods", params={"customer": stripe_customer, "type": "card"}
            )
            [second] = [m["id"] for m in methods.json()["data"] if m["card"]["last4"] == "5556"]
            chosen = await dashboard.post(
                f"/v1/customers/{stripe_customer}", data={"invoice_settings[default_payment_method]": second}
            )
            assert chosen.status_code == 200, chosen.text

        told = await webhook_events(
            stack,
            "payment_method.updated",
            lambda data: (
                data["customer_id"] == customer.id and data["last4"] == "5556" and data["is_default"]
            ),
        )
        assert len(told) == 1
        listed = await merchant.get(f"/v1/customers/{customer.id}/payment-methods")
        assert {m["last4"]: m["is_default"] for m in listed["items"]} == {"4242": False, "5556": True}
        frame = await open_portal(page, host, customer.email, view="settings", org=stack.slug, locale="en")
        cards = frame.locator("#payment-methods")
        await cards.locator("li", has_text="Visa •••• 5556").get_by_text("Default", exact=True).wait_for()
        await (
            cards.locator("li", has_text="Visa •••• 4242")
            .get_by_role("button", name="Make default")
            .wait_for()
        )
