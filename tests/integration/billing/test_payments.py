"""Saved cards: what is stored (never the number or CVC), one default per customer, events, scoping."""

import asyncio
import uuid

import pytest

from server.billing import cards, payments
from server.billing.payments import card_fingerprint
from server.db.tables import PaymentMethod, Subscription
from server.errors import Invalid, NotFound, PaymentFailed
from server.organizations.service import create_organization
from tests.integration.billing.test_orders import (
    GOOD_CARD,
    add_card,
    events,
    make_customer,
    make_subscription,
)


@pytest.fixture
async def customer(org):
    return await make_customer(org.org.id)


async def defaults(customer_id):
    rows = await PaymentMethod.select(PaymentMethod.id).where(
        PaymentMethod.customer == customer_id, PaymentMethod.is_default.eq(True)
    )
    return [r["id"] for r in rows]


async def test_saved_card_keeps_no_number_and_no_cvc(org, customer, keyring):
    method = await payments.add_payment_method(
        org.org.id,
        customer.id,
        keyring=keyring,
        number="4242 4242 4242 4242",
        exp_month=4,
        exp_year=2031,
        cvc="987",
    )
    row = await PaymentMethod.select().where(PaymentMethod.id == method.id).first()
    assert (row["brand"], row["last4"], row["exp_month"], row["exp_year"]) == ("visa", "4242", 4, 2031)
    assert row["fingerprint"] == card_fingerprint(keyring, GOOD_CARD)
    stored = " ".join(str(v) for v in row.values())
    assert GOOD_CARD not in stored
    assert "987" not in {str(value) for value in row.values()}
    assert not {"number", "cvc"} & set(row)
    assert row["fingerprint"] != card_fingerprint(
        type(keyring)(["another-secret-key-" + "y" * 32]), GOOD_CARD
    )


async def test_same_card_same_fingerprint(org, customer, keyring):
    first = await add_card(keyring, org.org.id, customer.id)
    second = await add_card(keyring, org.org.id, customer.id)
    other = await add_card(keyring, org.org.id, customer.id, "5555555555554444")
    assert first.fingerprint == second.fingerprint != other.fingerprint


@pytest.mark.parametrize(
    ("number", "error"),
    [("4000000000000002", PaymentFailed), ("4000000000009995", PaymentFailed), ("4242424242424241", Invalid)],
)
async def test_refused_cards_are_not_saved(org, customer, keyring, number, error):
    with pytest.raises(error):
        await add_card(keyring, org.org.id, customer.id, number)
    assert await payments.list_payment_methods(org.org.id, customer.id) == []
    assert await events(org.org.id, "payment_method.updated") == []


async def test_first_card_is_the_default_and_only_one_default(org, customer, keyring):
    first = await add_card(keyring, org.org.id, customer.id, make_default=False)
    assert await defaults(customer.id) == [first.id]
    second = await add_card(keyring, org.org.id, customer.id, "5555555555554444")
    assert await defaults(customer.id) == [second.id]
    third = await add_card(keyring, org.org.id, customer.id, "6011111111111117", make_default=False)
    assert await defaults(customer.id) == [second.id]
    listed = await payments.list_payment_methods(org.org.id, customer.id)
    assert [m.id for m in listed] == [second.id, third.id, first.id]
    await payments.set_default_payment_method(org.org.id, customer.id, first.id)
    assert await defaults(customer.id) == [first.id]
    changed = [(e["id"], e["is_default"]) for e in await events(org.org.id, "payment_method.updated")]
    assert changed == [
        (str(first.id), True),
        (str(second.id), True),
        (str(third.id), False),
        (str(first.id), True),
    ]


async def test_removing_the_default_promotes_the_newest(org, customer, keyring):
    old = await add_card(keyring, org.org.id, customer.id)
    newer = await add_card(keyring, org.org.id, customer.id, "5555555555554444", make_default=False)
    subscription = await make_subscription(org.org.id, customer.id)
    await Subscription.update({Subscription.default_payment_method: old.id}).where(
        Subscription.id == subscription.id
    )
    await payments.remove_payment_method(org.org.id, customer.id, old.id)
    assert await defaults(customer.id) == [newer.id]
    row = await Subscription.select(Subscription.default_payment_method).where(
        Subscription.id == subscription.id
    )
    assert row[0]["default_payment_method"] is None
    await payments.remove_payment_method(org.org.id, customer.id, newer.id)
    assert await payments.list_payment_methods(org.org.id, customer.id) == []
    removed = [e["id"] for e in await events(org.org.id, "payment_method.updated")][-2:]
    assert removed == [str(old.id), str(newer.id)]


async def test_concurrent_defaults_leave_exactly_one(org, customer, keyring):
    cards = ["4242424242424242", "5555555555554444", "6011111111111117", "3566002020360505"] * 3
    await asyncio.gather(*(add_card(keyring, org.org.id, customer.id, number) for number in cards))
    assert len(await payments.list_payment_methods(org.org.id, customer.id)) == 12
    assert len(await defaults(customer.id)) == 1


async def test_cards_are_the_customers_own(org, customer, keyring):
    mine = await add_card(keyring, org.org.id, customer.id)
    other = await make_customer(org.org.id)
    with pytest.raises(NotFound):
        await payments.set_default_payment_method(org.org.id, other.id, mine.id)
    with pytest.raises(NotFound):
        await payments.remove_payment_method(org.org.id, other.id, mine.id)
    assert await payments.list_payment_methods(org.org.id, other.id) == []
    elsewhere = await create_organization(keyring, name="Elsewhere")
    with pytest.raises(NotFound):
        await cards.get_payment_method(elsewhere.org.id, customer.id, mine.id)
    with pytest.raises(NotFound, match="customer"):
        await add_card(keyring, elsewhere.org.id, customer.id)
    with pytest.raises(NotFound, match="customer"):
        await add_card(keyring, org.org.id, uuid.uuid4())
