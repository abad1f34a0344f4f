"""``charge.refunded``: a refund the merchant made in Stripe's dashboard is recorded on the order as ours
are (refund with Stripe's id, credit note, status, refunded amount, one ``order.refunded``); a refund
selfserve made itself is known by its Stripe id and not counted twice; partial refunds, replays, events out
of order and a refund whose news comes before the payment's, against localstripe."""

from __future__ import annotations

import httpx
import pytest

from server.billing import orders
from tests.integration.billing.test_orders import events, new_order
from tests.integration.factories import make_customer
from tests.integration.stripe.conftest import PUBLISHABLE_KEY
from tests.integration.stripe.support import NEEDS_AUTHENTICATION, add_stripe_card
from tests.integration.stripe.test_stripe_events import event_of, signed, stripe_call


@pytest.fixture
async def customer(stripe_org):
    return await make_customer(stripe_org.org.id)


@pytest.fixture
async def paid(localstripe, keyring, stripe_org, customer):
    """An order of 5000 paid with a card at Stripe."""
    org_id = stripe_org.org.id
    await add_stripe_card(localstripe, keyring, org_id, customer.id)
    order = await new_order(org_id, customer.id, 5000)
    assert await orders.attempt_payment(org_id, order.id) is True
    return await orders.get_order(org_id, order.id)


async def refund_in_dashboard(localstripe, payment_ref: str, amount: int) -> dict:
    """The merchant refunds part of a payment in Stripe's dashboard; the charge as Stripe's
    ``charge.refunded`` event carries it then."""
    await stripe_call(
        localstripe, "POST", "refunds", data={"payment_intent": payment_ref, "amount": str(amount)}
    )
    return await charge_of(localstripe, payment_ref)


async def charge_of(localstripe, payment_ref: str) -> dict:
    intent = await stripe_call(localstripe, "GET", f"payment_intents/{payment_ref}")
    charge = intent["latest_charge"]
    return await stripe_call(
        localstripe, "GET", f"charges/{charge['id'] if isinstance(charge, dict) else charge}"
    )


async def deliver(client, slug: str, event: dict) -> str:
    body, headers = signed(event)
    response = await client.post(f"/webhooks/stripe/{slug}", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["received"])


async def test_a_partial_refund_in_stripes_dashboard_is_recorded_once(localstripe, client, stripe_org, paid):
    org_id, slug = stripe_org.org.id, stripe_org.org.slug
    refunded = event_of("charge.refunded", await refund_in_dashboard(localstripe, paid.payment_ref, 1200))
    assert await deliver(client, slug, refunded) == "applied"

    order = await orders.get_order(org_id, paid.id)
    assert (order.status, order.refunded_amount) == ("partially_refunded", 1200)
    [refund] = await orders.list_refunds(org_id, paid.id)
    stripe_refunds = await stripe_call(
        localstripe, "GET", "refunds", params={"payment_intent": paid.payment_ref}
    )
    assert (refund.amount, refund.destination, refund.provider_ref) == (
        1200,
        "payment_method",
        stripe_refunds["data"][0]["id"],
    )
    [note] = await orders.list_credit_notes(org_id, paid.id)
    assert (note.total, note.refund) == (1200, refund.id)
    [sent] = await events(org_id, "order.refunded")
    assert (sent["id"], sent["status"], sent["refunded_amount"]) == (str(paid.id), "partially_refunded", 1200)

    assert await deliver(client, slug, refunded) == "replayed"
    again = event_of("charge.refunded", refunded["data"]["object"])  # the same news under another event id
    assert await deliver(client, slug, again) == "applied"
    assert len(await orders.list_refunds(org_id, paid.id)) == 1
    assert (await orders.get_order(org_id, paid.id)).refunded_amount == 1200
    assert len(await events(org_id, "order.refunded")) == 1


async def test_refunds_whose_events_come_in_the_wrong_order_are_each_recorded_once(
    localstripe, client, stripe_org, paid
):
    org_id, slug = stripe_org.org.id, stripe_org.org.slug
    first = event_of("charge.refunded", await refund_in_dashboard(localstripe, paid.payment_ref, 1000))
    second = event_of("charge.refunded", await refund_in_dashboard(localstripe, paid.payment_ref, 4000))
    assert await deliver(client, slug, second) == "applied"
    assert await deliver(client, slug, first) == "applied"

    order = await orders.get_order(org_id, paid.id)
    assert (order.status, order.refunded_amount) == ("refunded", 5000)
    assert sorted(r.amount for r in await orders.list_refunds(org_id, paid.id)) == [1000, 4000]
    told = [e["refunded_amount"] for e in await events(org_id, "order.refunded")]
    assert len(told) == 2
    assert told[-1] == 5000


async def test_a_refund_made_through_selfserve_is_not_counted_again_when_stripe_tells_of_it(
    localstripe, client, stripe_org, paid
):
    org_id, slug = stripe_org.org.id, stripe_org.org.slug
    ours = await orders.refund_order(org_id, paid.id, 2000, "payment_method", "changed their mind")
    assert ours.provider_ref.startswith("re_")
    echo = event_of("charge.refunded", await charge_of(localstripe, paid.payment_ref))
    assert echo["data"]["object"]["amount_refunded"] == 2000
    assert await deliver(client, slug, echo) == "applied"
    assert [r.id for r in await orders.list_refunds(org_id, paid.id)] == [ours.id]
    assert (await orders.get_order(org_id, paid.id)).refunded_amount == 2000
    assert len(await events(org_id, "order.refunded")) == 1

    # the merchant refunds the rest in the dashboard: that one is recorded, ours still once
    rest = event_of("charge.refunded", await refund_in_dashboard(localstripe, paid.payment_ref, 3000))
    assert await deliver(client, slug, rest) == "applied"
    order = await orders.get_order(org_id, paid.id)
    assert (order.status, order.refunded_amount) == ("refunded", 5000)
    assert [r.amount for r in await orders.list_refunds(org_id, paid.id)] == [2000, 3000]
    assert len(await events(org_id, "order.refunded")) == 2


async def test_a_refund_whose_news_comes_before_the_payments_records_the_payment_first(
    localstripe, client, keyring, stripe_org, customer
):
    org_id, slug = stripe_org.org.id, stripe_org.org.slug
    await add_stripe_card(localstripe, keyring, org_id, customer.id, NEEDS_AUTHENTICATION)
    order = await new_order(org_id, customer.id, 2500)
    assert await orders.attempt_payment(org_id, order.id) is False  # waits for the customer's 3-D Secure
    waiting = await orders.get_order(org_id, order.id)
    intent = await stripe_call(localstripe, "GET", f"payment_intents/{waiting.payment_ref}")
    async with httpx.AsyncClient() as http:  # the customer passes the challenge; that event is late
        await http.post(
            f"{localstripe.url}/v1/payment_intents/{intent['id']}/_authenticate?success=true",
            json={"key": PUBLISHABLE_KEY, "client_secret": intent["client_secret"]},
        )
    refunded = event_of("charge.refunded", await refund_in_dashboard(localstripe, waiting.payment_ref, 2500))
    assert await deliver(client, slug, refunded) == "applied"

    after = await orders.get_order(org_id, order.id)
    assert (after.status, after.refunded_amount, after.awaits_confirmation) == ("refunded", 2500, False)
    assert [e["id"] for e in await events(org_id, "order.paid")] == [str(order.id)]
    assert len(await events(org_id, "order.refunded")) == 1
    succeeded = event_of(
        "payment_intent.succeeded", await stripe_call(localstripe, "GET", f"payment_intents/{intent['id']}")
    )
    assert await deliver(client, slug, succeeded) == "applied"  # the late news of the payment: nothing more
    assert (await orders.get_order(org_id, order.id)).status == "refunded"
    assert len(await events(org_id, "order.paid")) == 1
