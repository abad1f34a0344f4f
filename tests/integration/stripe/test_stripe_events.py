"""``POST /webhooks/stripe/{org_slug}``: Stripe events, signed with the merchant's webhook secret, move
payments; a replay changes nothing, a bad signature is refused. The 3-D Secure card leaves its renewal
waiting for the customer; once authenticated at localstripe, Stripe's event pays the order."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import httpx
import pytest

from server.billing import orders, payments, stripe_events
from server.billing.stripe_provider import split_ref
from tests.integration.billing.test_orders import events, new_order
from tests.integration.factories import make_customer
from tests.integration.stripe.conftest import SECRET_KEY, WEBHOOK_SECRET
from tests.integration.stripe.support import NEEDS_AUTHENTICATION, add_stripe_card, confirm_card_setup


@pytest.fixture
async def customer(stripe_org):
    return await make_customer(stripe_org.org.id)


def signed(event: dict, secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    """The body and headers Stripe sends: ``Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")``."""
    body = json.dumps(event).encode()
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"Stripe-Signature": f"t={timestamp},v1={digest}", "Content-Type": "application/json"}


def event_of(type_: str, obj: dict) -> dict:
    return {"id": f"evt_{uuid.uuid4().hex[:14]}", "object": "event", "type": type_, "data": {"object": obj}}


async def stripe_call(localstripe, method: str, path: str, **kwargs) -> dict:
    async with httpx.AsyncClient() as http:
        response = await http.request(method, f"{localstripe.url}/v1/{path}", auth=(SECRET_KEY, ""), **kwargs)
    response.raise_for_status()
    return response.json()


async def test_a_charge_needing_3d_secure_waits_and_stripes_event_pays_it_once(
    client, localstripe, keyring, stripe_org, customer
):
    org_id, slug = stripe_org.org.id, stripe_org.org.slug
    await add_stripe_card(localstripe, keyring, org_id, customer.id, NEEDS_AUTHENTICATION)
    order = await new_order(org_id, customer.id, 2500)
    assert await orders.attempt_payment(org_id, order.id) is False
    waiting = await orders.get_order(org_id, order.id)
    assert waiting.status == "pending"
    assert waiting.last_payment_error == "The bank asks you to confirm this payment."
    intent = await stripe_call(localstripe, "GET", f"payment_intents/{waiting.payment_ref}")
    assert intent["status"] == "requires_action"

    # the customer passes the bank's challenge (localstripe's stand-in for it)
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{localstripe.url}/v1/payment_intents/{intent['id']}/_authenticate?success=true",
            json={"key": "pk_test_x", "client_secret": intent["client_secret"]},
        )
    assert response.json()["status"] == "succeeded"
    succeeded = event_of(
        "payment_intent.succeeded", await stripe_call(localstripe, "GET", f"payment_intents/{intent['id']}")
    )
    body, headers = signed(succeeded)
    response = await client.post(f"/webhooks/stripe/{slug}", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": "applied"}
    paid = await orders.get_order(org_id, order.id)
    assert (paid.status, paid.payment_ref) == ("paid", intent["id"])

    replay = await client.post(f"/webhooks/stripe/{slug}", content=body, headers=signed(succeeded)[1])
    assert replay.json() == {"received": "replayed"}
    late_failure = event_of(
        "payment_intent.payment_failed", {**succeeded["data"]["object"], "status": "failed"}
    )
    body, headers = signed(late_failure)
    assert (await client.post(f"/webhooks/stripe/{slug}", content=body, headers=headers)).status_code == 200
    assert (await orders.get_order(org_id, order.id)).status == "paid"
    assert len(await events(org_id, "order.paid")) == 1


async def test_reconciliation_records_a_payment_whose_event_was_lost(
    localstripe, keyring, stripe_org, customer
):
    org_id = stripe_org.org.id
    await add_stripe_card(localstripe, keyring, org_id, customer.id, NEEDS_AUTHENTICATION)
    order = await new_order(org_id, customer.id, 900)
    assert await orders.attempt_payment(org_id, order.id) is False
    await stripe_events.reconcile_payments()
    assert (await orders.get_order(org_id, order.id)).status == "pending"  # still waiting for the customer
    waiting = await orders.get_order(org_id, order.id)
    intent = await stripe_call(localstripe, "GET", f"payment_intents/{waiting.payment_ref}")
    async with httpx.AsyncClient() as http:
        await http.post(
            f"{localstripe.url}/v1/payment_intents/{intent['id']}/_authenticate?success=true",
            json={"key": "pk_test_x", "client_secret": intent["client_secret"]},
        )
    assert await stripe_events.reconcile_payments() >= 1
    assert (await orders.get_order(org_id, order.id)).status == "paid"
    assert len(await events(org_id, "order.paid")) == 1


async def test_a_tampered_or_foreign_signature_is_refused(client, stripe_org):
    slug = stripe_org.org.slug
    body, headers = signed(event_of("payment_intent.succeeded", {"id": "pi_x", "payment_method": "pm_x"}))
    tampered = body.replace(b"pi_x", b"pi_y")
    response = await client.post(f"/webhooks/stripe/{slug}", content=tampered, headers=headers)
    assert response.status_code == 401
    _, foreign = signed(json.loads(body), secret="whsec_someoneelse")
    assert (await client.post(f"/webhooks/stripe/{slug}", content=body, headers=foreign)).status_code == 401
    assert (await client.post(f"/webhooks/stripe/{slug}", content=body)).status_code == 401


async def test_a_merchant_on_the_sandbox_has_no_stripe_route(client, org):
    body, headers = signed(event_of("payment_intent.succeeded", {"id": "pi_x"}))
    response = await client.post(f"/webhooks/stripe/{org.org.slug}", content=body, headers=headers)
    assert response.status_code == 404


async def test_a_card_detached_at_stripe_is_removed_here(client, localstripe, keyring, stripe_org, customer):
    org_id = stripe_org.org.id
    card = await add_stripe_card(localstripe, keyring, org_id, customer.id)
    detached = await stripe_call(
        localstripe, "POST", f"payment_methods/{split_ref(card.provider_ref)[1]}/detach"
    )
    body, headers = signed(event_of("payment_method.detached", detached))
    response = await client.post(f"/webhooks/stripe/{stripe_org.org.slug}", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert await payments.list_payment_methods(org_id, customer.id) == []


async def post_event(client, slug: str, type_: str, obj: dict) -> dict:
    body, headers = signed(event_of(type_, obj))
    response = await client.post(f"/webhooks/stripe/{slug}", content=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_a_card_confirmed_whose_page_closed_is_saved_from_stripes_event(
    client, localstripe, keyring, stripe_org, customer
):
    org_id, slug = stripe_org.org.id, stripe_org.org.slug
    client_secret = await payments.start_card_setup(org_id, customer.id)
    setup_intent = await confirm_card_setup(localstripe, client_secret)
    intent = await stripe_call(localstripe, "GET", f"setup_intents/{setup_intent}")
    assert await post_event(client, slug, "setup_intent.succeeded", intent) == {"received": "applied"}
    saved = await payments.list_payment_methods(org_id, customer.id)
    assert [(card.last4, card.provider_ref.split(":")[1]) for card in saved] == [
        ("4242", intent["payment_method"])
    ]
    await post_event(client, slug, "setup_intent.succeeded", intent)  # a second delivery, a new event id
    assert len(await payments.list_payment_methods(org_id, customer.id)) == 1


async def test_a_default_card_chosen_at_stripe_becomes_the_default_here(
    client, localstripe, keyring, stripe_org, customer
):
    org_id, slug = stripe_org.org.id, stripe_org.org.slug
    first = await add_stripe_card(localstripe, keyring, org_id, customer.id)
    second = await add_stripe_card(localstripe, keyring, org_id, customer.id, make_default=False)
    stripe_customer, method = split_ref(second.provider_ref)
    before = len(await events(org_id, "payment_method.updated"))
    updated = await stripe_call(
        localstripe,
        "POST",
        f"customers/{stripe_customer}",
        data={"invoice_settings[default_payment_method]": method},
    )
    assert await post_event(client, slug, "customer.updated", updated) == {"received": "applied"}
    cards = {card.id: card.is_default for card in await payments.list_payment_methods(org_id, customer.id)}
    assert cards == {first.id: False, second.id: True}
    await post_event(client, slug, "customer.updated", updated)  # Stripe's echo of our own update
    assert len(await events(org_id, "payment_method.updated")) == before + 1
    # an older event, when the first card was the default, delivered late: what Stripe has now counts
    stale = {**updated, "invoice_settings": {"default_payment_method": split_ref(first.provider_ref)[1]}}
    assert await post_event(client, slug, "customer.updated", stale) == {"received": "applied"}
    cards = {card.id: card.is_default for card in await payments.list_payment_methods(org_id, customer.id)}
    assert cards == {first.id: False, second.id: True}


async def test_stripe_asking_for_authentication_leaves_the_order_unpaid_and_says_so(
    client, localstripe, keyring, stripe_org, customer
):
    org_id, slug = stripe_org.org.id, stripe_org.org.slug
    await add_stripe_card(localstripe, keyring, org_id, customer.id, NEEDS_AUTHENTICATION)
    order = await new_order(org_id, customer.id, 1200)
    assert await orders.attempt_payment(org_id, order.id) is False
    waiting = await orders.get_order(org_id, order.id)
    intent = await stripe_call(localstripe, "GET", f"payment_intents/{waiting.payment_ref}")
    assert intent["status"] == "requires_action"
    assert await post_event(client, slug, "payment_intent.requires_action", intent) == {"received": "applied"}
    after = await orders.get_order(org_id, order.id)
    assert after.status == "pending"
    assert after.last_payment_error == "The bank asks you to confirm this payment."
    assert await events(org_id, "order.paid") == []
