"""Cards saved through a SetupIntent, charges and refunds of a merchant on Stripe, against localstripe."""

from __future__ import annotations

import httpx
import pytest

from server.billing import orders, payments
from server.billing.stripe_provider import split_ref
from server.db.tables import Customer
from server.errors import Invalid, PaymentFailed
from server.privacy import erasure
from tests.integration.billing.test_orders import events, new_order
from tests.integration.factories import make_customer
from tests.integration.stripe.conftest import SECRET_KEY
from tests.integration.stripe.support import DECLINED_ON_CHARGE, VISA, add_stripe_card, confirm_card_setup


@pytest.fixture
async def customer(stripe_org):
    return await make_customer(stripe_org.org.id)


async def stripe_get(localstripe, path: str) -> dict:
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{localstripe.url}/v1/{path}", auth=(SECRET_KEY, ""))
    response.raise_for_status()
    return response.json()


async def test_a_card_confirmed_in_stripe_is_saved_without_its_number(
    localstripe, keyring, stripe_org, customer
):
    card = await add_stripe_card(localstripe, keyring, stripe_org.org.id, customer.id)
    assert (card.provider, card.brand, card.last4, card.exp_month, card.exp_year) == (
        "stripe",
        "visa",
        "4242",
        12,
        2034,
    )
    assert card.is_default
    stripe_customer, method = split_ref(card.provider_ref)
    stored = await Customer.objects().where(Customer.id == customer.id).first()
    assert stored.provider_customer_ref == stripe_customer
    assert (await stripe_get(localstripe, f"payment_methods/{method}"))["customer"] == stripe_customer
    assert (await stripe_get(localstripe, f"customers/{stripe_customer}"))["invoice_settings"][
        "default_payment_method"
    ] == method
    assert [e["last4"] for e in await events(stripe_org.org.id, "payment_method.updated")] == ["4242"]


async def test_the_same_setup_saved_twice_is_one_card(localstripe, keyring, stripe_org, customer):
    org_id = stripe_org.org.id
    client_secret = await payments.start_card_setup(org_id, customer.id)
    setup_intent = await confirm_card_setup(localstripe, client_secret)
    first = await payments.add_stripe_card(org_id, customer.id, setup_intent, keyring=keyring)
    again = await payments.add_stripe_card(org_id, customer.id, setup_intent, keyring=keyring)
    assert again.id == first.id
    assert len(await payments.list_payment_methods(org_id, customer.id)) == 1


async def test_an_unconfirmed_or_foreign_setup_is_refused(localstripe, keyring, stripe_org, customer):
    org_id = stripe_org.org.id
    client_secret = await payments.start_card_setup(org_id, customer.id)
    with pytest.raises(Invalid, match="not confirmed"):
        await payments.add_stripe_card(
            org_id, customer.id, client_secret.split("_secret_")[0], keyring=keyring
        )
    other = await make_customer(org_id)
    setup_intent = await confirm_card_setup(localstripe, client_secret)
    with pytest.raises(Invalid, match="not confirmed"):
        await payments.add_stripe_card(org_id, other.id, setup_intent, keyring=keyring)


async def test_card_numbers_are_refused_for_a_merchant_on_stripe(keyring, stripe_org, customer):
    with pytest.raises(Invalid, match="never sent here"):
        await payments.add_payment_method(
            stripe_org.org.id,
            customer.id,
            keyring=keyring,
            number=VISA,
            exp_month=12,
            exp_year=2099,
            cvc="123",
        )


async def test_an_order_is_charged_off_session_and_refunded_in_parts(
    localstripe, keyring, stripe_org, customer
):
    org_id = stripe_org.org.id
    card = await add_stripe_card(localstripe, keyring, org_id, customer.id)
    order = await new_order(org_id, customer.id, 1999)
    assert await orders.attempt_payment(org_id, order.id) is True
    paid = await orders.get_order(org_id, order.id)
    assert (paid.status, paid.payment_method) == ("paid", card.id)
    intent = await stripe_get(localstripe, f"payment_intents/{paid.payment_ref}")
    assert (intent["status"], intent["amount"], intent["currency"]) == ("succeeded", 1999, "usd")
    assert intent["payment_method"] == split_ref(card.provider_ref)[1]
    assert [e["status"] for e in await events(org_id, "order.paid")] == ["paid"]

    await orders.refund_order(org_id, order.id, 500, "payment_method")
    await orders.refund_order(org_id, order.id, 1499, "payment_method")
    refunds = await stripe_get(localstripe, f"refunds?payment_intent={paid.payment_ref}")
    assert sorted(r["amount"] for r in refunds["data"]) == [500, 1499]
    refunded = await orders.get_order(org_id, order.id)
    assert (refunded.status, refunded.refunded_amount) == ("refunded", 1999)


async def test_a_decline_is_told_in_our_words_and_starts_dunning(localstripe, keyring, stripe_org, customer):
    org_id = stripe_org.org.id
    await add_stripe_card(localstripe, keyring, org_id, customer.id, DECLINED_ON_CHARGE)
    order = await new_order(org_id, customer.id, 1000)
    assert await orders.attempt_payment(org_id, order.id) is False
    failed = await orders.get_order(org_id, order.id)
    assert (failed.status, failed.payment_attempts) == ("pending", 1)
    assert failed.last_payment_error == "The card was declined."
    assert failed.next_payment_attempt_at is not None
    with pytest.raises(PaymentFailed, match="declined") as raised:
        await orders.pay_order(org_id, order.id, customer_id=customer.id)
    assert raised.value.extra["decline_code"] == "card_declined"


async def test_a_new_default_card_pays_the_failed_order(localstripe, keyring, stripe_org, customer):
    org_id = stripe_org.org.id
    await add_stripe_card(localstripe, keyring, org_id, customer.id, DECLINED_ON_CHARGE)
    order = await new_order(org_id, customer.id, 700)
    assert await orders.attempt_payment(org_id, order.id) is False
    good = await add_stripe_card(localstripe, keyring, org_id, customer.id)
    paid = await orders.get_order(org_id, order.id)
    assert (paid.status, paid.payment_method) == ("paid", good.id)


async def test_removing_a_card_detaches_it_in_stripe(localstripe, keyring, stripe_org, customer):
    card = await add_stripe_card(localstripe, keyring, stripe_org.org.id, customer.id)
    await payments.remove_payment_method(stripe_org.org.id, customer.id, card.id)
    assert (await stripe_get(localstripe, f"payment_methods/{split_ref(card.provider_ref)[1]}"))[
        "customer"
    ] is None


async def test_erasing_the_customer_detaches_their_cards_in_stripe(
    localstripe, keyring, stripe_org, customer
):
    card = await add_stripe_card(localstripe, keyring, stripe_org.org.id, customer.id)
    await erasure.erase_customer(stripe_org.org.id, customer.id)
    assert (await stripe_get(localstripe, f"payment_methods/{split_ref(card.provider_ref)[1]}"))[
        "customer"
    ] is None


async def test_a_card_is_charged_by_the_provider_that_saved_it(org, stripe_org):
    from server.billing.payment_providers import provider_for

    assert (await provider_for(org.org.id, "sandbox")).name == "sandbox"
    assert (await provider_for(stripe_org.org.id, "stripe")).name == "stripe"
