"""3-D Secure in the portal: a charge the bank wants the customer to authenticate waits for them (no
off-session retry), the portal hands Stripe.js the PaymentIntent's client secret, and after the challenge our
server reads the outcome from Stripe and pays the order once, whoever (this, Stripe's event, reconciliation)
saw it first; a failed challenge says why."""

from __future__ import annotations

from datetime import timedelta

import httpx
import msgspec
import pytest

from server.billing import orders, payment_providers, stripe_events
from server.clock import FrozenClock, use_clock
from server.db.tables import Customer
from server.errors import PaymentFailed
from tests.integration.billing.test_orders import events, new_order
from tests.integration.mail.conftest import inbox, smtp_context, smtp_port
from tests.integration.mail.support import drain
from tests.integration.portal.conftest import customer, mint, open_session
from tests.integration.stripe.conftest import PUBLISHABLE_KEY
from tests.integration.stripe.support import NEEDS_AUTHENTICATION, add_stripe_card
from tests.integration.stripe.test_stripe_events import post_event, stripe_call

__all__ = ["customer", "inbox", "mint", "open_session", "smtp_context", "smtp_port"]


async def authenticate(localstripe, client_secret: str, *, success: bool) -> dict:
    """What the bank's challenge in Stripe.js does (localstripe's stand-in for it)."""
    intent = client_secret.split("_secret_")[0]
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{localstripe.url}/v1/payment_intents/{intent}/_authenticate?success={str(success).lower()}",
            json={"key": PUBLISHABLE_KEY, "client_secret": client_secret},
        )
    response.raise_for_status()
    return response.json()


@pytest.fixture
async def waiting(localstripe, keyring, stripe_org, customer):
    """An order whose off-session charge the bank asked the customer to authenticate."""
    org_id = stripe_org.org.id
    await add_stripe_card(localstripe, keyring, org_id, customer.id, NEEDS_AUTHENTICATION)
    order = await new_order(org_id, customer.id, 2500)
    assert await orders.attempt_payment(org_id, order.id) is False
    return await orders.get_order(org_id, order.id)


async def test_an_order_waiting_for_the_customer_is_not_charged_again_and_pays_once_when_confirmed(
    localstripe, stripe_org, customer, waiting
):
    org_id = stripe_org.org.id
    assert orders.awaits_confirmation(waiting)
    assert waiting.next_payment_attempt_at is not None  # the dunning schedule, kept for if it fails
    with use_clock(FrozenClock(waiting.next_payment_attempt_at + timedelta(days=30))):
        assert (org_id, waiting.id) not in await orders.due_payment_attempts()
    assert await orders.attempt_payment(org_id, waiting.id) is False  # no second off-session charge
    again = await orders.get_order(org_id, waiting.id)
    assert (again.payment_ref, again.payment_attempts) == (waiting.payment_ref, waiting.payment_attempts)

    secret = await stripe_events.confirmation_secret(org_id, customer.id, waiting.id)
    assert secret.startswith(f"{waiting.payment_ref}_secret_")
    assert (await authenticate(localstripe, secret, success=True))["status"] == "succeeded"
    paid = await stripe_events.confirm_payment(org_id, customer.id, waiting.id)
    assert (paid.status, paid.payment_ref, paid.last_payment_error) == ("paid", waiting.payment_ref, "")
    assert not orders.awaits_confirmation(paid)

    # the same news again, by the page, the reconciliation or Stripe's event: nothing more happens
    assert (await stripe_events.confirm_payment(org_id, customer.id, waiting.id)).status == "paid"
    assert await stripe_events.reconcile_payments() == 0
    assert [e["id"] for e in await events(org_id, "order.paid")] == [str(waiting.id)]


async def test_a_failed_challenge_says_authentication_failed_and_the_order_stays_unpaid(
    localstripe, stripe_org, customer, waiting
):
    org_id = stripe_org.org.id
    secret = await stripe_events.confirmation_secret(org_id, customer.id, waiting.id)
    await authenticate(localstripe, secret, success=False)
    with pytest.raises(PaymentFailed) as failed:
        await stripe_events.confirm_payment(org_id, customer.id, waiting.id)
    assert failed.value.extra == {"decline_code": "authentication_failed"}
    after = await orders.get_order(org_id, waiting.id)
    assert after.status == "pending"
    assert (
        after.last_payment_error == "The bank could not confirm this payment; try again or use another card."
    )
    assert not orders.awaits_confirmation(after)
    assert await events(org_id, "order.paid") == []
    with use_clock(FrozenClock(after.next_payment_attempt_at + timedelta(minutes=1))):
        assert (org_id, waiting.id) in await orders.due_payment_attempts()  # dunning resumes


async def test_the_portal_confirms_the_payment_and_never_believes_the_page(
    client, localstripe, stripe_org, customer, waiting, open_session
):
    org_id = stripe_org.org.id
    await Customer.update({Customer.locale: "de"}).where(Customer.id == customer.id)
    headers = {"Authorization": f"Bearer {await open_session()}"}
    view = await client.get("/embed/views/orders", headers=headers)
    assert view.status_code == 200, view.text
    told = msgspec.json.decode(view.headers["x-selfserve-events"])
    assert {
        "type": "order.confirmation_required",
        "data": {"id": str(waiting.id), "status": "pending"},
    } in told
    assert "Zahlung bestätigen" in view.text
    assert f'data-confirmation="/embed/orders/{waiting.id}/confirmation"' in view.text

    # the page says it is done before the bank was asked: Stripe says otherwise, so it is not paid
    early = await client.post(
        "/embed/views/orders/confirm_payment", data={"order_id": str(waiting.id)}, headers=headers
    )
    assert early.status_code == 402, early.text
    assert "Ihre Bank bittet Sie, diese Zahlung zu bestätigen." in early.text
    assert (await orders.get_order(org_id, waiting.id)).status == "pending"

    asked = await client.post(f"/embed/orders/{waiting.id}/confirmation", headers=headers)
    assert asked.status_code == 201, asked.text
    await authenticate(localstripe, asked.json()["client_secret"], success=True)
    done = await client.post(
        "/embed/views/orders/confirm_payment", data={"order_id": str(waiting.id)}, headers=headers
    )
    assert done.status_code == 200, done.text
    assert "Danke, die Zahlung ist eingegangen." in done.text
    assert "Zahlung bestätigen" not in done.text
    assert (await orders.get_order(org_id, waiting.id)).status == "paid"
    gone = await client.post(f"/embed/orders/{waiting.id}/confirmation", headers=headers)
    assert gone.status_code == 409
    assert gone.headers["content-type"].startswith("application/problem+json")
    assert len(await events(org_id, "order.paid")) == 1
    after = await client.get("/embed/views/overview", headers=headers)
    assert "order.confirmation_required" not in after.headers.get("x-selfserve-events", "")


async def test_the_customer_is_emailed_once_in_their_language_with_a_link_to_their_orders(
    localstripe, keyring, stripe_org, customer, inbox, smtp_context
):
    org_id = stripe_org.org.id
    await Customer.update({Customer.locale: "fr"}).where(Customer.id == customer.id)
    await add_stripe_card(localstripe, keyring, org_id, customer.id, NEEDS_AUTHENTICATION)
    order = await new_order(org_id, customer.id, 2500)
    assert await orders.attempt_payment(org_id, order.id) is False
    assert await orders.attempt_payment(org_id, order.id) is False  # still waiting: no second email
    await drain(smtp_context)
    [mail] = inbox.received_by(customer.email)
    assert mail["Subject"].startswith("Veuillez confirmer votre paiement de 25,00")
    text = mail.get_body(("plain",)).get_content()
    assert "Votre banque vous demande de confirmer le paiement de 25,00" in text
    assert f"/portal/{stripe_org.org.slug}?view=orders" in text


async def test_stripe_asking_for_a_confirmation_whose_charge_was_never_recorded_emails_the_customer_once(
    client, localstripe, keyring, stripe_org, customer, inbox, smtp_context
):
    org_id, slug = stripe_org.org.id, stripe_org.org.slug
    card = await add_stripe_card(localstripe, keyring, org_id, customer.id, NEEDS_AUTHENTICATION)
    order = await new_order(org_id, customer.id, 1800)
    # the job charged, then stopped before recording Stripe's answer (a crash, a timeout)
    stripe = await payment_providers.stripe_for(org_id)
    charged = await stripe.charge(
        card.provider_ref, 1800, "USD", idempotency_key=f"{order.id}:scheduled:1", order_id=str(order.id)
    )
    assert charged.needs_confirmation
    assert (await orders.get_order(org_id, order.id)).payment_ref == ""

    intent = await stripe_call(localstripe, "GET", f"payment_intents/{charged.reference}")
    assert intent["metadata"] == {"selfserve_order": str(order.id)}
    assert await post_event(client, slug, "payment_intent.requires_action", intent) == {"received": "applied"}
    waiting = await orders.get_order(org_id, order.id)
    assert (waiting.status, waiting.payment_ref) == ("pending", charged.reference)
    assert orders.awaits_confirmation(waiting)
    assert (org_id, order.id) not in await orders.due_payment_attempts()
    assert await post_event(client, slug, "payment_intent.requires_action", intent) == {"received": "applied"}
    assert await orders.attempt_payment(org_id, order.id) is False  # no off-session charge while it waits
    await drain(smtp_context)
    [mail] = inbox.received_by(customer.email)
    assert f"/portal/{slug}?view=orders" in mail.get_body(("plain",)).get_content()

    secret = await stripe_events.confirmation_secret(org_id, customer.id, order.id)
    await authenticate(localstripe, secret, success=True)
    assert (await stripe_events.confirm_payment(org_id, customer.id, order.id)).status == "paid"
    assert len(await events(org_id, "order.paid")) == 1
